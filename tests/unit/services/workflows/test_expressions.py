"""The condition-node expression language: what it computes, what it refuses, and its limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.workflows.expressions import (
    MAX_DEPTH,
    MAX_RESULT_LENGTH,
    MAX_SOURCE_LENGTH,
    Attribute,
    Binary,
    Constant,
    ExpressionError,
    Name,
    evaluate,
    parse,
    references,
    truthy,
)

CONTEXT: dict[str, Any] = {
    "draft": {
        "content": "Hello World",
        "metadata": {"sentiment": "positive", "score": 0.8, "flag": None},
        "tags": ["news", "urgent"],
    },
    "review": {"approved": True, "notes": ""},
    "items": [1, 2, 3],
    "n": 3,
    "x": {},
}


def run(source: str, context: dict[str, Any] | None = None) -> Any:
    return evaluate(source, CONTEXT if context is None else context)


def refusal(source: str, context: dict[str, Any] | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        run(source, context)
    return caught.value


# --- literals and precedence ---------------------------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("42", 42), ("1.5", 1.5), ("2e3", 2000.0), ("'single'", "single"), ('"double"', "double"),
    ("true", True), ("false", False), ("null", None), ("True", True), ("False", False), ("None", None),
    (r"'it\'s'", "it's"), (r'"a\"b"', 'a"b'), (r"'a\nb\t\\'", "a\nb\t\\"), (r"'\u00e9'", "é"),
    ("[1, 'a', null]", [1, "a", None]), ("[]", []),
])
def test_literals_evaluate_to_their_json_values(source: str, expected: Any) -> None:
    assert run(source) == expected
    assert type(run(source)) is type(expected)


@pytest.mark.parametrize(("source", "expected"), [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 - 4 - 3", 3), ("12 / 4 / 3", 1.0), ("7 % 4 * 2", 6),
    ("-2 * 3", -6), ("--2", 2), ("- (1 + 2)", -3), ("1 + 2 == 3", True), ("(1 < 2) == true", True),
    ("not 1 == 2", True), ("not false and false", False), ("true or false and false", True),
    ("(true or false) and false", False), ("false or not false", True), ("1 + 1 in [2]", True),
])
def test_operators_follow_usual_precedence(source: str, expected: Any) -> None:
    assert run(source) == expected


@pytest.mark.parametrize(("alias", "word"), [
    ("true && false", "true and false"), ("false || true", "false or true"), ("!true", "not true"),
    ("!(1 == 1) || !false && true", "not (1 == 1) or not false and true"),
])
def test_symbol_aliases_behave_like_the_keywords(alias: str, word: str) -> None:
    assert run(alias) == run(word)


@pytest.mark.parametrize(("source", "expected"), [
    ("0 or ''", False), ("'x' and 2", True), ("not []", True), ("[0] and x", False), ("null or 'default'", True),
])
def test_logical_operators_always_give_booleans(source: str, expected: bool) -> None:
    assert run(source) is expected


def test_and_or_short_circuit_so_the_unevaluated_side_cannot_fail() -> None:
    assert run("false and missing.key") is False
    assert run("true or 1 / 0") is True


def test_division_is_true_division_and_modulo_follows_python() -> None:
    assert run("7 / 2") == 3.5
    assert run("-7 % 3") == 2


# --- names, keys and indexes ---------------------------------------------------------------

def test_dotted_access_reads_nested_dict_keys() -> None:
    assert run("draft.metadata.sentiment") == "positive"
    assert run("draft.metadata.sentiment == 'positive' and draft.metadata.score > 0.5") is True


def test_index_access_reads_list_positions_and_dict_keys() -> None:
    assert run("draft.tags[0]") == "news"
    assert run("items[-1]") == 3
    assert run('draft["metadata"]["score"]') == 0.8
    assert run("draft.tags[n - 2]") == "urgent"
    assert run("'abc'[1]") == "b"


@pytest.mark.parametrize("source", [
    "draft.missing", "draft.missing.deeper", "draft.metadata.flag.anything", "draft['nope']", "items[3]",
    "items[-4]", "null.key", "null[0]",
])
def test_missing_keys_and_out_of_range_indexes_give_null(source: str) -> None:
    assert run(source) is None


def test_unknown_root_name_is_an_error_naming_it() -> None:
    error = refusal("draft.content == nothere.content")
    assert error.message == "unknown name 'nothere' at column 18"
    assert error.position == 17


@pytest.mark.parametrize(("source", "reason"), [
    ("draft.content.length", "cannot read 'length' from a string"),
    ("n.value", "cannot read 'value' from a number"),
    ("items.first", "cannot read 'first' from a list"),
    ("draft[0]", "object keys are strings, not a number"),
    ("items['a']", "positions in a list are whole numbers, not a string"),
    ("items[true]", "positions in a list are whole numbers, not a boolean"),
    ("n[0]", "cannot index into a number"),
])
def test_keys_and_indexes_on_the_wrong_kind_of_value_are_refused(source: str, reason: str) -> None:
    assert reason in refusal(source).message


def test_keyword_spelled_keys_are_ordinary_keys_after_a_dot() -> None:
    assert run("doc.in + doc.not", {"doc": {"in": 1, "not": 2}}) == 3


# --- in / not in ---------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("'World' in draft.content", True), ("'world' in draft.content", False),
    ("'world' not in draft.content", True), ("'news' in draft.tags", True), ("'sports' not in draft.tags", True),
    ("2 in items", True), ("5 not in items", True), ("'sentiment' in draft.metadata", True),
    ("'missing' in draft.metadata", False), ("draft.metadata.sentiment in ['positive', 'neutral']", True),
])
def test_in_and_not_in_work_on_strings_lists_and_object_keys(source: str, expected: bool) -> None:
    assert run(source) is expected


def test_membership_does_not_treat_booleans_as_numbers() -> None:
    assert run("1 in [true]") is False
    assert run("true == 1") is False
    assert run("1 == 1.0") is True


@pytest.mark.parametrize(("source", "reason"), [
    ("1 in 'abc'", "cannot look for a number in a string"),
    ("1 in draft.metadata", "cannot look for a number in an object"),
    ("'a' in 5", "'in' needs a string, list or object on its right, not a number"),
    ("'a' in null", "'in' needs a string, list or object on its right, not null"),
])
def test_membership_with_the_wrong_types_is_refused(source: str, reason: str) -> None:
    assert reason in refusal(source).message


# --- type mismatches and arithmetic errors -------------------------------------------------

@pytest.mark.parametrize(("source", "reason"), [
    ("'a' < 1", "cannot compare a string with a number using '<'"),
    ("null >= 0", "cannot compare null with a number using '>='"),
    ("items > [0]", "cannot compare a list with a list using '>'"),
    ("true < 2", "cannot compare a boolean with a number using '<'"),
    ("'a' + 1", "cannot apply '+' to a string and a number; convert with string(x) or number(x)"),
    ("true + 1", "cannot apply '+' to a boolean and a number"),
    ("null - 1", "cannot apply '-' to null and a number"),
    ("-'a'", "cannot negate a string"),
    ("1 / 0", "division by zero"),
    ("1 % 0.0", "division by zero"),
])
def test_type_mismatches_and_division_by_zero_raise_expression_errors(source: str, reason: str) -> None:
    error = refusal(source)
    assert reason in error.message
    assert error.position is not None


def test_runtime_error_points_at_the_failing_operator() -> None:
    error = refusal("n + 1 > 'three'")
    assert error.message == "cannot compare a number with a string using '>' at column 7"


def test_comparisons_of_like_types_work() -> None:
    assert run("'apple' < 'banana' and 2 >= 2 and 1.5 <= 2 and 3 != 4") is True


def test_float_overflow_is_refused_rather_than_giving_infinity() -> None:
    assert "too large" in refusal("1e308 * 10").message
    assert "too large" in refusal("big / 3", {"big": 10**400}).message
    assert "too large" in refusal("big * 1.5", {"big": 10**400}).message


def test_huge_integers_from_the_context_are_handled_without_python_errors() -> None:
    big = 10**400
    assert run("round(big, -3) == big and abs(-big) == big and big > 1e308", {"big": big}) is True
    assert run("len(string(big))", {"big": big}) == 401
    assert "string() cannot convert a number" in refusal("string(big)", {"big": 10**5000}).message


# --- functions -----------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("len(draft.content)", 11), ("len(draft.tags)", 2), ("len(draft.metadata)", 3), ("len('')", 0),
    ("lower('AbC')", "abc"), ("upper('AbC')", "ABC"), ("trim('  padded \\n')", "padded"),
    ("contains(draft.content, 'World')", True), ("contains(draft.tags, 'sports')", False),
    ("startswith(draft.content, 'Hell')", True), ("endswith(draft.content, 'Hell')", False),
    ("number('42')", 42), ("number(' -1.5 ')", -1.5), ("number('1e3')", 1000.0), ("number(7)", 7),
    ("number(true)", 1), ("string(12)", "12"), ("string(1.5)", "1.5"), ("string(null)", "null"),
    ("string(true)", "true"), ("string(draft.tags)", '["news", "urgent"]'), ("string('s')", "s"),
    ("bool('')", False), ("bool('false')", True), ("bool(items)", True), ("bool(0)", False),
    ("min(3, 1, 2)", 1), ("max(3, 1, 2)", 3), ("min(items)", 1), ("max(['b', 'a'])", "b"), ("max(1, 2.5)", 2.5),
    ("abs(-3)", 3), ("abs(2.5)", 2.5), ("round(2.5)", 3), ("round(-2.5)", -3), ("round(2.675, 2)", 2.68),
    ("round(1234.5, -2)", 1200), ("round(7)", 7), ("round(0.125, 2)", 0.13),
])
def test_each_whitelisted_function_computes_its_documented_result(source: str, expected: Any) -> None:
    result = run(source)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("source", "reason"), [
    ("len(5)", "len() expects a string, list or object, not a number"),
    ("lower(1)", "lower() expects a string, not a number"),
    ("upper(null)", "upper() expects a string, not null"),
    ("trim(items)", "trim() expects a string, not a list"),
    ("startswith('a', 1)", "startswith() expects a string, not a number"),
    ("endswith(1, 'a')", "endswith() expects a string, not a number"),
    ("contains(5, 'a')", "'in' needs a string, list or object on its right"),
    ("number('abc')", "number() cannot read 'abc' as a number"),
    ("number('nan')", "number() cannot read 'nan' as a number"),
    ("number('1e999')", "cannot read '1e999' as a number"),
    ("number('1_000')", "cannot read '1_000' as a number"),
    ("number(null)", "number() expects a string, number or boolean, not null"),
    ("min([])", "min() of an empty list has no value"),
    ("max(1, 'a')", "cannot compare a string with a number"),
    ("min(null, 1)", "min() compares numbers or strings, not null"),
    ("abs('1')", "abs() expects a number, not a string"),
    ("round('1')", "round() expects a number, not a string"),
    ("round(1.5, 0.5)", "round() takes a whole number of digits"),
    ("round(5, -1000000000)", "round() takes a whole number of digits between -15 and 15"),
])
def test_functions_refuse_arguments_of_the_wrong_type(source: str, reason: str) -> None:
    error = refusal(source)
    assert reason in error.message
    assert error.position == 0


@pytest.mark.parametrize(("source", "message"), [
    ("len()", "len() takes 1 argument, got 0 at column 1"),
    ("lower('a', 'b')", "lower() takes 1 argument, got 2 at column 1"),
    ("round(1, 2, 3)", "round() takes 1 to 2 arguments, got 3 at column 1"),
    ("min()", "min() takes at least 1 argument, got 0 at column 1"),
])
def test_wrong_argument_counts_fail_at_parse_time(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert caught.value.message == message


def test_unknown_function_fails_at_parse_time_listing_the_allowed_ones() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("n > 1 and sum(items) > 3")
    assert caught.value.message.startswith("unknown function 'sum' (available: abs, bool, contains")
    assert caught.value.position == 10


def test_function_names_are_usable_as_node_ids_when_not_called() -> None:
    assert run("len.content", {"len": {"content": "x"}}) == "x"


# --- syntax errors -------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "message", "position"), [
    ("len(x))", "unexpected ')' at column 7", 6),
    ("(1 + 2", "expected ')' but found end of expression at column 7", 6),
    ("1 +", "unexpected end of expression at column 4", 3),
    ("1 2", "unexpected number 2 at column 3", 2),
    ("a b", "unexpected 'b' at column 3", 2),
    ("draft.", "expected a key name after '.' but found end of expression at column 7", 6),
    ("items[0", "expected ']' but found end of expression at column 8", 7),
    ("[1, 2", "expected ',' but found end of expression at column 6", 5),
    ("a = 1", "unexpected character '=' (use '==' to compare) at column 3", 2),
    ("a & b", "unexpected character '&' at column 3", 2),
    ("'abc", "string is never closed at column 1", 0),
    (r"'a\qb'", "unknown escape '\\q' in a string at column 3", 2),
    (r"'\u12'", "unknown escape '\\u' in a string at column 2", 1),
    ("1 < 2 < 3", "comparisons cannot be chained; join them with 'and' at column 7", 6),
    ("a not b", "expected 'in' but found 'b' at column 7", 6),
    ("not in a", "unexpected 'in' at column 5", 4),
    ("1e999", "number 1e999 is too large at column 1", 0),
    ("draft.content()", "unexpected '(' at column 14", 13),
])
def test_syntax_errors_name_what_was_found_and_its_column(source: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert caught.value.message == message
    assert caught.value.position == position
    assert str(caught.value) == message


def test_empty_expression_is_refused() -> None:
    with pytest.raises(ExpressionError, match="expression is empty"):
        parse("   ")


def test_expression_error_is_a_value_error() -> None:
    assert issubclass(ExpressionError, ValueError)


# --- limits --------------------------------------------------------------------------------

def test_source_longer_than_the_limit_is_refused() -> None:
    parse("1" + " " * (MAX_SOURCE_LENGTH - 1))
    with pytest.raises(ExpressionError, match=f"the limit is {MAX_SOURCE_LENGTH}"):
        parse("1" + " " * MAX_SOURCE_LENGTH)


@pytest.mark.parametrize("build", [
    pytest.param(lambda depth: "(" * depth + "1" + ")" * depth, id="parentheses"),
    pytest.param(lambda depth: "not " * depth + "true", id="not"),
    pytest.param(lambda depth: "-" * depth + "1", id="unary-minus"),
    pytest.param(lambda depth: "1" + " + 1" * depth, id="operator-chain"),
    pytest.param(lambda depth: "x" + ".k" * depth, id="key-chain"),
    pytest.param(lambda depth: "abs(" * depth + "1" + ")" * depth, id="calls"),
    pytest.param(lambda depth: "[" * depth + "]" * depth, id="lists"),
])
def test_nesting_up_to_the_limit_works_and_beyond_it_is_refused(build: Callable[[int], str]) -> None:
    evaluate(build(MAX_DEPTH), {"x": {}})
    with pytest.raises(ExpressionError, match=f"nests more than {MAX_DEPTH} levels deep"):
        parse(build(MAX_DEPTH + 1))


def test_long_and_or_chains_do_not_count_as_nesting() -> None:
    assert run(" or ".join(["false"] * 200) + " or true") is True
    assert run(" && ".join(["true"] * 200)) is True


def test_string_concatenation_cannot_grow_past_the_cap() -> None:
    half = "a" * (MAX_RESULT_LENGTH // 2)
    assert len(run("s + s", {"s": half})) == MAX_RESULT_LENGTH
    error = refusal("s + s + s", {"s": half})
    assert f"longer than {MAX_RESULT_LENGTH}" in error.message


def test_list_concatenation_cannot_grow_past_the_cap() -> None:
    big = list(range(MAX_RESULT_LENGTH // 2 + 1))
    assert f"longer than {MAX_RESULT_LENGTH}" in refusal("l + l", {"l": big}).message


def test_strings_cannot_be_repeated_with_multiplication() -> None:
    assert "cannot apply '*' to a string and a number" in refusal("'a' * 1000000000").message
    assert "cannot apply '*' to a number and a string" in refusal("1000000000 * 'a'").message


def test_there_is_no_power_operator_to_build_huge_numbers() -> None:
    with pytest.raises(ExpressionError, match="unexpected '\\*' at column 5"):
        parse("10 ** 1000000000")


def test_case_changes_that_grow_text_are_capped() -> None:
    assert f"longer than {MAX_RESULT_LENGTH}" in refusal("upper(s)", {"s": "ß" * MAX_RESULT_LENGTH}).message


def test_string_conversion_of_large_values_is_capped() -> None:
    assert f"longer than {MAX_RESULT_LENGTH}" in refusal("string(l)", {"l": [1] * MAX_RESULT_LENGTH}).message


def test_number_refuses_overlong_digit_strings() -> None:
    assert "cannot read" in refusal("number(s)", {"s": "9" * 5000}).message


# --- escapes into Python -------------------------------------------------------------------

@pytest.mark.parametrize(("source", "message"), [
    ("__import__('os')", "unknown function '__import__'"),
    ("eval('1')", "unknown function 'eval'"),
    ("exec('1')", "unknown function 'exec'"),
    ("getattr(x, '__class__')", "unknown function 'getattr'"),
    ("().__class__", "unexpected ')' at column 2"),
    ("''.__class__.__mro__", "cannot read '__class__' from a string"),
    ("draft.content.upper()", "unexpected '(' at column 20"),
    ("lambda: 1", "unexpected character ':'"),
    ("[c for c in x]", "expected ',' but found 'for'"),
    ("x; import os", "unexpected character ';'"),
])
def test_python_escape_attempts_are_refused(source: str, message: str) -> None:
    assert message in refusal(source).message


def test_dunder_keys_are_plain_dict_lookups_not_attribute_access() -> None:
    assert run("x.__class__") is None
    assert run("x.__class__.__bases__") is None
    assert run("x['__dict__']") is None
    assert run("draft.keys") is None
    assert run("d.__class__", {"d": {"__class__": "just a key"}}) == "just a key"


def test_python_objects_in_the_context_expose_no_attributes() -> None:
    assert "cannot read 'real' from a number" in refusal("n.real").message
    assert "cannot read '__globals__' from a function" in refusal("f.__globals__", {"f": lambda: 1}).message


# --- references and truthiness ---------------------------------------------------------------

def test_references_lists_root_names_but_not_functions_keys_or_literals() -> None:
    source = "len(draft.content) > 10 and review['x'].y in tags or lower(max(a, b.c)) == 'z' and not flag"
    assert references(source) == frozenset({"draft", "review", "tags", "a", "b", "flag"})


def test_references_accepts_a_parsed_tree() -> None:
    assert references(parse("draft.metadata.score")) == frozenset({"draft"})
    assert references("1 + 2") == frozenset()


def test_references_raises_for_invalid_source() -> None:
    with pytest.raises(ExpressionError):
        references("draft.")


def test_parse_builds_a_frozen_tree_that_evaluate_accepts() -> None:
    tree = parse("draft.metadata.score + 1")
    assert tree == Binary("+", Attribute(Attribute(Name("draft", 0), "metadata", 5), "score", 14),
                          Constant(1, 23), 21)
    with pytest.raises(AttributeError):
        tree.op = "-"  # type: ignore[misc]
    assert evaluate(tree, CONTEXT) == 1.8


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), (False, False), (0, False), (0.0, False), ("", False), ([], False), ({}, False),
    (True, True), (1, True), (-0.5, True), ("false", True), ("0", True), ([0], True), ({"a": None}, True),
])
def test_truthy_follows_python_truthiness(value: Any, expected: bool) -> None:
    assert truthy(value) is expected
