"""Small embedded stopword lists: the most frequent function words of each language we recognise.

They serve two purposes: guessing a text's language from its function-word profile, and telling
content words from function words when summarising. They are deliberately short (the commonest
words carry nearly all of the signal) and are not meant for search indexing.
"""

from __future__ import annotations

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("""
        the and of to in is that it for was on are with as be this by at or from have an not but they
        which you were his her has had we their there been would will can more also its than into these
        what when who about all if our he she them my your i do does did so such how other some only
        """.split()),
    "de": frozenset("""
        der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an
        werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war
        haben nur oder aber vor zur bis mehr durch man sein wurde ich wir ihr kann diese dieser wenn
        weil sehr unsere unser ihre keine schon doch
        """.split()),
    "fr": frozenset("""
        le la les de des du et un une en est que qui dans pour pas au aux sur ne se ce il elle ils nous
        vous je avec plus par son sa ses sont mais ou cette été être leur aussi comme très sans tout
        même lui nos notre était fait ont avait ces où dont qu l d j n c
        """.split()),
    "es": frozenset("""
        de la que el en y a los del se las por un para con no una su al lo como más pero sus le ya o
        este sí porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos
        durante todos uno les ni contra otros ese eso ante ellos e esto antes algunos qué unos yo otro
        él tanto esa estos mucho nada muchos cual poco ella estar estas es son está fue ha han
        """.split()),
    "it": frozenset("""
        di e il la che in a per un è del non sono una le della con si i gli da al dei come ma anche nel
        alla più lo delle questo se ha o ci suo sua loro tra quando mi cui nella degli questa ancora
        molto essere stato hanno fra dal dalla sul perché dell sulla ne tutto io noi voi l
        """.split()),
    "pt": frozenset("""
        de a o que e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele das
        tem à seu sua ou ser quando muito há nos já está eu também só pelo pela até isso ela entre era
        depois sem mesmo aos ter seus quem nas me esse eles estão você essa num nem suas meu às minha
        numa pelos elas são este esta isto
        """.split()),
    "nl": frozenset("""
        de en van ik te dat die in een hij het niet zijn is was op aan met als voor had er maar om hem
        dan zou of wat mijn men dit zo door over ze zich bij ook tot je mij uit der daar haar naar heb
        hoe heeft hebben deze u want nog zal me zij nu geen omdat iets worden toch al waren veel meer
        doen toen moet ben zonder kan hun dus alles onder ons wij wordt werd
        """.split()),
}

ALL_STOPWORDS: frozenset[str] = frozenset().union(*STOPWORDS.values())
