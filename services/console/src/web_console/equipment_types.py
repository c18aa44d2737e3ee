"""Equipment types as people read them. The registry keeps a type as it was typed ("boiler",
"Heat pump"); the usual ones have a label in each language, any other is shown as typed."""

from __future__ import annotations

from jinja2 import pass_context
from jinja2.runtime import Context

from web_console.i18n import Translator

TYPES = (
    "boiler",
    "heat_pump",
    "air_conditioner",
    "water_heater",
    "ventilation",
    "chiller",
    "burner",
)


def type_label(t: Translator, typed: str | None) -> str:
    """`heat pump`, `Heat-Pump` and `heat_pump` are the one type; an unknown type as typed."""
    if not typed:
        return ""
    known = "_".join(typed.lower().replace("-", " ").replace("_", " ").split())
    return t("equipment_type." + known) if known in TYPES else typed


@pass_context
def type_filter(context: Context, typed: str | None) -> str:
    """`{{ item.type|equipment_type }}`, in the language of the page's translator."""
    t: Translator = context["t"]
    return type_label(t, typed)
