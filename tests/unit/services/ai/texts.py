"""Sample texts shared by the AI tests, written for them."""

from __future__ import annotations

POSITIVE = "I love this product. It is wonderful, reliable and a joy to use. The support team was great!"
NEGATIVE = "This is terrible. The app crashes constantly, support was rude, and I hate wasting my money."

SOLAR = (
    "Solar energy is transforming how households get electricity. Rooftop solar panels convert sunlight "
    "directly into power, and their prices have fallen sharply over the last decade. Many homeowners now "
    "combine solar panels with home batteries to store energy for the evening. Utilities are adapting their "
    "grids to handle the growing share of solar generation. Critics point out that solar output drops on "
    "cloudy days and at night. Still, analysts at the International Energy Agency expect solar to become the "
    "largest source of new capacity worldwide. Governments in Germany and Spain offer incentives for solar "
    "installations. The technology keeps improving as researchers develop more efficient cells."
)

SIMPLE = "The cat sat on the mat. It was a sunny day. The dog ran to the park. We had fun."
COMPLEX = (
    "Notwithstanding considerable methodological heterogeneity, contemporary epidemiological investigations "
    "consistently demonstrate that socioeconomic determinants substantially influence cardiovascular "
    "morbidity, particularly among geographically isolated populations experiencing institutional "
    "underinvestment."
)

ENGLISH = (
    "The committee met on Tuesday to discuss the budget for the next year. Most of the members agreed that "
    "the school needs more teachers, but there was no decision about the new building."
)
GERMAN = (
    "Der Ausschuss hat sich am Dienstag getroffen, um über den Haushalt für das nächste Jahr zu sprechen. "
    "Die meisten Mitglieder waren sich einig, dass die Schule mehr Lehrer braucht, aber über das neue "
    "Gebäude wurde noch nicht entschieden."
)
FRENCH = (
    "Le comité s'est réuni mardi pour discuter du budget de l'année prochaine. La plupart des membres "
    "étaient d'accord que l'école a besoin de plus d'enseignants, mais il n'y a pas eu de décision sur le "
    "nouveau bâtiment."
)
