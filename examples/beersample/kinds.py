"""What the generic pages need to know about one kind of document (beer or brewery)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from beersample.forms import Field, FormResult
from beersample.models import Entity


@dataclass(frozen=True)
class Kind:
    """A kind of document and the hooks that make its pages differ from the other kind's."""

    name: str
    plural: str
    label: str
    entity_class: type[Entity]
    fields: tuple[Field, ...]
    list_view: tuple[str, str]
    row_processor: Callable[[], Any]
    validate: Callable[[Any, Any], FormResult]
    new_key: Callable[[dict[str, Any]], str]
    search: Callable[[Any, str], list[dict[str, Any]]]
    show_context: Callable[[Any, Entity], dict[str, Any]]
    delete_refusal: Callable[[Any, Entity], str | None]

    @property
    def form_prefix(self) -> str:
        """The prefix of the form inputs, `beer_` or `brewery_` as in the tutorial."""
        return self.name
