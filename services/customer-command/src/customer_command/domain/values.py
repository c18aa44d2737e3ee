"""What office staff may ask for, validated: the inputs of customer commands.

These models are also the HTTP request bodies, so their messages are written for people.
A patch carries only the fields it names (`model_fields_set`); a named field set to null
clears it, except for the fields a customer or contact cannot be without.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, ClassVar, Self
from uuid import UUID

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from customer_command.domain.errors import OptInWithoutAddress
from customerhub_shared.events.customer import (
    ActivityKind,
    CustomerKind,
    CustomerRole,
    GeoPoint,
    NotifyChannels,
    RelationKind,
    Segment,
    join_name,
    split_name,
)

PHONE_EXAMPLE = "+33 1 40 00 00 00"
_LANGUAGE = re.compile(r"[a-z]{2}")
_REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
_COUNTRY = re.compile(r"[A-Z]{2}")


def to_e164(value: str) -> str:
    """Phone numbers are stored in E.164, so they compare and dial the same everywhere."""
    message = f"phone must be a valid international number, e.g. {PHONE_EXAMPLE}"
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(message) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(message)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def to_email(value: str) -> str:
    plain = _PLAIN_EMAIL.fullmatch(value) if len(value) <= _PLAIN_EMAIL_LENGTH else None
    domain = _email_domain(plain[2]) if plain is not None else None
    if plain is not None and domain is not None:  # what email_validator answers, sooner
        local = plain[1]
        return f"{local.lower() if local.lower() in _CASE_FREE else local}@{domain}"
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as invalid:
        raise ValueError(f"email must be a valid address: {invalid}") from None


# Most addresses are plain ASCII: a dot-atom before the @ (email_validator keeps it as written,
# but for mailbox names it lower-cases) and a domain it takes or refuses whatever comes before;
# short enough for every length it checks. Others take the validator's whole way.
_PLAIN_EMAIL = re.compile(
    r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)"  # the dot-atom before the @
    r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
_PLAIN_EMAIL_LENGTH = 200
_CASE_FREE = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


@functools.lru_cache(maxsize=1024)
def _email_domain(domain: str) -> str | None:
    """The domain as email_validator writes it in an address; None where it refuses it."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def to_language(value: str) -> str:
    code = value.lower()
    if not _LANGUAGE.fullmatch(code):
        raise ValueError("language must be a two-letter ISO 639-1 code, e.g. fr")
    return code


def to_region(value: str) -> str:
    code = value.upper()
    if not _REGION.fullmatch(code):
        raise ValueError("region must be a country code with an optional subdivision, e.g. FR-IDF")
    return code


def to_country(value: str) -> str:
    code = value.upper()
    if not _COUNTRY.fullmatch(code):
        raise ValueError("country must be a two-letter ISO 3166-1 code, e.g. FR")
    return code


def on_earth(point: GeoPoint) -> GeoPoint:
    if not -90 <= point.latitude <= 90:
        raise ValueError("latitude must be between -90 and 90")
    if not -180 <= point.longitude <= 180:
        raise ValueError("longitude must be between -180 and 180")
    return point


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


Name = Annotated[str, _text(200)]
Text = Annotated[str, _text(200)]
Code = Annotated[str, _text(50)]
Note = Annotated[str, _text(5000)]
Label = Annotated[str, _text(50)]
Phone = Annotated[str, _text(50), AfterValidator(to_e164)]
Email = Annotated[str, _text(320), AfterValidator(to_email)]
# Codes are bounded loosely: their own validators give the clearer message.
Language = Annotated[str, _text(100), AfterValidator(to_language)]
Region = Annotated[str, _text(100), AfterValidator(to_region)]
Country = Annotated[str, _text(100), AfterValidator(to_country)]
PostalCode = Annotated[str, _text(20)]
Geo = Annotated[GeoPoint, AfterValidator(on_earth)]
Discount = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
CustomFieldValue = Annotated[str, StringConstraints(max_length=1000)] | int | float | bool | None
CustomFields = Annotated[dict[Code, CustomFieldValue], Field(max_length=50)]


def opted_in_without_address(
    notify: NotifyChannels, email: str | None, phone: str | None
) -> str | None:
    """The channel a contact opted into but cannot be reached on, if any."""
    if notify.email and email is None:
        return "email"
    if notify.sms and phone is None:
        return "sms"
    return None


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class _Patch(_Input):
    """Fields a patch may name but never set to null: a customer or contact needs them."""

    _not_nullable: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _names_a_change(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("a patch must name at least one field to change")
        for field in self._not_nullable:
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be cleared")
        return self


class _AddressFields(_Input):
    label: Text | None = None
    street: Text | None = None
    postal_code: PostalCode | None = None
    city: Text | None = None
    country: Country | None = None
    geo: Geo | None = None


class Address(_AddressFields):
    @model_validator(mode="after")
    def _street_or_city(self) -> Self:
        if self.street is None and self.city is None:
            raise ValueError("an address needs at least a street or a city")
        return self


class NewLocation(Address):
    main: bool = False


class LocationPatch(_AddressFields, _Patch):
    pass


class NewCustomer(_Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "company",
                    "name": "Boulangerie Martin",
                    "language": "fr",
                    "roles": ["prospect"],
                    "email": "contact@martin.example",
                    "phone": "+33 1 40 00 00 00",
                    "main_location": {
                        "street": "12 rue de la Paix",
                        "postal_code": "75002",
                        "city": "Paris",
                        "country": "FR",
                    },
                }
            ]
        }
    )

    kind: CustomerKind = "company"
    name: Name
    internal_name: Text | None = None
    customer_number: Code | None = None
    region: Region | None = None
    language: Language | None = Field(
        default=None,
        description="Default: the creator's `locale` claim, else CUSTOMERHUB_DEFAULT_LANGUAGE",
    )
    segment: Segment = "other"
    roles: tuple[CustomerRole, ...] = ("customer",)
    labels: Annotated[tuple[Label, ...], Field(max_length=50)] = ()
    email: Email | None = None
    phone: Phone | None = None
    price_list: Text | None = None
    discount_percent: Discount | None = None
    tax_override: Code | None = None
    note: Note | None = None
    show_note_on_selection: bool = False
    custom_fields: CustomFields = Field(default_factory=dict)
    main_location: Address

    @field_validator("roles")
    @classmethod
    def _prospect_or_customer(cls, roles: tuple[CustomerRole, ...]) -> tuple[CustomerRole, ...]:
        if {"prospect", "customer"} <= set(roles):
            raise ValueError("a customer cannot also be a prospect")
        return tuple(dict.fromkeys(roles))

    @field_validator("labels")
    @classmethod
    def _distinct_labels(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(labels))


class CustomerPatch(_Patch):
    _not_nullable: ClassVar[tuple[str, ...]] = (
        "name",
        "language",
        "segment",
        "show_note_on_selection",
        "custom_fields",
    )

    name: Name | None = None
    internal_name: Text | None = None
    customer_number: Code | None = None
    region: Region | None = None
    language: Language | None = None
    segment: Segment | None = None
    email: Email | None = None
    phone: Phone | None = None
    price_list: Text | None = None
    discount_percent: Discount | None = None
    tax_override: Code | None = None
    note: Note | None = None
    show_note_on_selection: bool | None = None
    custom_fields: CustomFields | None = None


class NewContact(_Input):
    name: Name | None = Field(
        default=None,
        description="The full name, read as the given name up to its first space and the"
        " family name after it; or give given_name (and family_name) instead",
    )
    given_name: Name | None = None
    family_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    position: Text | None = None
    main: bool = False
    notify: NotifyChannels = NotifyChannels()
    equipment_alerts: bool = False
    portal_access: bool = False

    @model_validator(mode="after")
    def _reachable_where_opted_in(self) -> Self:
        channel = opted_in_without_address(self.notify, self.email, self.phone)
        if channel is not None:
            raise ValueError(OptInWithoutAddress(channel).detail)
        return self

    @model_validator(mode="after")
    def _named_once(self) -> Self:
        if (self.name is None) == (self.given_name is None):
            raise ValueError("give either name or given_name (with family_name if any)")
        if self.family_name is not None and self.given_name is None:
            raise ValueError("family_name goes with given_name, not with name")
        return self

    def full_name(self) -> str:
        """The given and the family name joined, as the contact is shown."""
        return join_name(*self.names()) or ""

    def names(self) -> tuple[str | None, str | None]:
        """The contact's (given name, family name)."""
        if self.given_name is not None:
            return self.given_name, self.family_name
        return split_name(self.name)


class ContactPatch(_Patch):
    _not_nullable: ClassVar[tuple[str, ...]] = (
        "name",
        "notify",
        "equipment_alerts",
        "portal_access",
        "main",
    )

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    position: Text | None = None
    notify: NotifyChannels | None = None
    equipment_alerts: bool | None = None
    portal_access: bool | None = None
    main: bool | None = None


class NewActivity(_Input):
    """A comment, call, visit or email for the customer's timeline; `occurred_at` defaults to
    when it is recorded."""

    kind: ActivityKind
    text: Annotated[str, _text(5000)]
    occurred_at: AwareDatetime | None = None


@dataclass(frozen=True)
class NewAttachment:
    """A file to attach, its type already checked against its bytes (content_types)."""

    file_name: str
    content_type: str
    size: int
    sha256: str


class NewRelation(_Input):
    other_customer_id: UUID
    relation: RelationKind = "related"


_UNSAFE_IN_FILE_NAMES = re.compile(r"[\x00-\x1f\x7f]")
MAX_FILE_NAME_LENGTH = 255


def attachment_file_name(raw: str | None) -> str:
    """The name a file is kept under: its last path segment (a client may send a path),
    without control characters, at most 255 characters; "attachment" when nothing is left."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_IN_FILE_NAMES.sub("", name).strip()
    return name[:MAX_FILE_NAME_LENGTH] or "attachment"
