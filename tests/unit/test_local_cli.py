"""The local runtime's command line: what ``ocr_local serve`` takes over the template."""

from __future__ import annotations

import pytest

from ocr_local.__main__ import _parser


def test_serve_sets_function_variables_as_sam_local_does():
    args = _parser().parse_args(["serve", "--env", "MAX_DECODE_SECONDS=4", "--env", "OCR_LANGUAGES=eng+chi_sim"])
    assert args.env == [("MAX_DECODE_SECONDS", "4"), ("OCR_LANGUAGES", "eng+chi_sim")]


def test_a_value_may_hold_an_equals_sign():
    assert _parser().parse_args(["serve", "--env", "A=b=c"]).env == [("A", "b=c")]


@pytest.mark.parametrize("bad", ["MAX_DECODE_SECONDS", "=4"])
def test_a_variable_without_name_or_value_is_refused(bad, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--env", bad])
    assert "expected NAME=VALUE" in capsys.readouterr().err
