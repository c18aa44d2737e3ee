"""Whether an address can be reached on a channel at all, decided before anything is sent.

phonenumbers is a pure library (metadata tables, no I/O), as in customer-command's values.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

_E164 = re.compile(r"\+[1-9][0-9]{1,14}\Z")
# Numbers that cannot take a text message; anything else (mobile, "fixed line or mobile" as in
# North America, VoIP, personal numbers) is tried, and the provider has the last word.
_NO_SMS = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.VOICEMAIL,
        PhoneNumberType.UAN,
    }
)


def is_e164(phone: str) -> bool:
    """A valid number written in E.164, as customer-command stores them."""
    if not _E164.match(phone):
        return False
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


def can_receive_sms(phone: str) -> bool:
    if not is_e164(phone):
        return False
    return phonenumbers.number_type(phonenumbers.parse(phone, None)) not in _NO_SMS


def is_plausible_email(address: str) -> bool:
    """customer-command validated it; this only guards the SMTP envelope and headers."""
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain) and not any(c in address for c in "\r\n<>, ")
