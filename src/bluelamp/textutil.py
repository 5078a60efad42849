"""Small text checks shared across parsers."""


def is_decimal(text: str) -> bool:
    """True for a non-empty run of ASCII digits 0-9.

    `str.isdigit()` alone also accepts characters such as '¹' or '٣' (superscripts and other
    scripts' digits), which `int()` then rejects or reads unexpectedly; hostile or odd input
    must get a clean "not a number" instead.
    """
    return text.isascii() and text.isdigit()
