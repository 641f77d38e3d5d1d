"""Reading a submitted form against its definition: one check for every form."""

from __future__ import annotations

from hearth.handlers.cards import Form, typed
from hearth.handlers.commands import CommandError

YES, NO = "yes", "no"


def read(form: Form, values: dict[str, str | list[str]]) -> dict[str, str | list[str] | bool]:
    """The submitted values, checked and typed; raises CommandError saying what is wrong.

    Titles, labels and options may be what a person typed (a survey's questions): the
    messages mark them with `typed`, as are the field names a submission invented.
    """
    title = typed(form.title)
    unknown = sorted(set(values) - {f.name for f in form.fields})
    if unknown:
        raise CommandError(f"{title}: there is no field {typed(', '.join(unknown))}.")
    out: dict[str, str | list[str] | bool] = {}
    for field in form.fields:
        raw = values.get(field.name, [] if field.kind == "choices" else "")
        chosen = [raw] if isinstance(raw, str) else list(raw)
        chosen = [c.strip() for c in chosen if c.strip()]
        if field.required and not chosen:
            raise CommandError(f"{title}: please fill in “{typed(field.label)}”.")
        match field.kind:
            case "text":
                out[field.name] = chosen[0] if chosen else ""
            case "yesno":
                answer = (chosen[0] if chosen else NO).lower()
                if answer not in (YES, NO):
                    raise CommandError(f"{title}: “{typed(field.label)}” is yes or no.")
                out[field.name] = answer == YES
            case "choice" | "choices":
                wrong = [c for c in chosen if c not in field.options]
                if wrong or (field.kind == "choice" and len(chosen) > 1):
                    options = typed(", ".join(field.options))
                    raise CommandError(f"{title}: “{typed(field.label)}” is one of {options}.")
                out[field.name] = (
                    chosen if field.kind == "choices" else (chosen[0] if chosen else "")
                )
    return out
