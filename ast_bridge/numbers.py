"""What a phone number or extension may look like when it travels to Asterisk.

One definition, used twice: the HTTP layer refuses anything else with 302, and
the AMI action helpers refuse it again before a dial string is built. Digits,
letters (named extensions), `*` and `#`, and a leading `+`; 40 characters at most. Everything that has
a meaning in a dial string or a dialplan (`&`, `,`, `|`, `/`, `@`, `-`, `.`,
`_`, spaces, `(`, `)`, `$`, `{`, quotes, control characters) is out.
"""

import re

MAX_NUMBER_LENGTH = 40
_NUMBER_RE = re.compile(r"(?=.{1,%d}\Z)\+?[0-9A-Za-z*#]+" % MAX_NUMBER_LENGTH, re.DOTALL)


def is_dialable(value: str) -> bool:
    return _NUMBER_RE.fullmatch(value) is not None
