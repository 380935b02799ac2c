"""Two costs of aiogram 3 (with pydantic 2) that this bot does not pay.

Both were found profiling `python -m bench` (see BENCHMARKS.md); neither changes
what aiogram does, only when and how often pydantic builds its validators.

1. **Every Telegram type built at import.** `aiogram.types` ends by calling
   `model_rebuild()` on each of its ~440 models, so importing aiogram builds a
   validator for every type Telegram has, each with the nested types inlined:
   about 100 MB of memory (RSS 166 MB after `import aiogram.types`; aiogram
   issue #1513). `defer_type_builds()` lets those calls only record the names
   the models need; pydantic then builds a model the first time it is used (the
   dozen this bot uses, not the ~440), exactly as `defer_build=True` in aiogram's
   own model config asks. It must run before anything imports aiogram: the
   `bot` package calls it first thing. Run after that, it does nothing.

2. **`Response[T]` rebuilt after every garbage collection.** aiogram checks each
   Bot API answer with `Response[method.__returning__]`, a generic pydantic
   model that pydantic caches in a weak dictionary. Nothing else holds it, so
   each full garbage collection drops it and the next call builds it again
   (tens of milliseconds for `Response[Message]`): 16 % of the sender's time in
   a broadcast went there. `bot.factory.LeanSession` keeps one strong
   reference per answer type, so each is built once per process.

This module imports nothing of aiogram at the top, so the `bot` package can call
`defer_type_builds()` before anything else imports it.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel


def defer_type_builds() -> bool:
    """Import aiogram's types without building them; False if they were imported already."""
    if "aiogram.types" in sys.modules:
        return False
    rebuild = BaseModel.__dict__["model_rebuild"].__func__
    names: dict[str, Any] = {}

    def record_names_only(cls: type[BaseModel], **kwargs: Any) -> bool | None:
        if kwargs.get("_types_namespace") is None or not cls.__module__.startswith("aiogram."):
            return rebuild(cls, **kwargs)
        names.update(kwargs["_types_namespace"])  # the same for every type
        return None

    BaseModel.model_rebuild = classmethod(record_names_only)  # type: ignore[method-assign,assignment]
    try:
        from aiogram.methods.base import TelegramMethod
        from aiogram.types.base import TelegramObject
    finally:
        BaseModel.model_rebuild = classmethod(rebuild)  # type: ignore[method-assign,assignment]

    def rebuild_with_names(cls: type[BaseModel], *, force: bool = False,
                           raise_errors: bool = True, _parent_namespace_depth: int = 2,
                           _types_namespace: dict[str, Any] | None = None) -> bool | None:
        # pydantic calls this on first use, and would look for the names in its
        # caller's frames; aiogram's types name each other in forward references.
        return rebuild(cls, force=force, raise_errors=raise_errors,
                       _types_namespace={**names, **(_types_namespace or {})})

    # Every type (TelegramObject) and method (TelegramMethod: SendMessage…) then
    # builds, when first used, against the names aiogram.types gathered: alone,
    # and inside another model (Response[list[Update]]), which resolves a nested
    # model's names in that model's parent namespace.
    for base in (TelegramObject, TelegramMethod):
        base.model_rebuild = classmethod(rebuild_with_names)  # type: ignore[method-assign,assignment]
    import aiogram.methods
    import aiogram.types

    for module in (aiogram.types, aiogram.methods):
        for name in module.__all__:
            model = getattr(module, name)
            if isinstance(model, type) and issubclass(model, BaseModel):
                own = model.__pydantic_parent_namespace__
                # One shared dict (pydantic only reads it): a copy per model was 13 KB
                # each, 8 MB for the ~590 of them.
                model.__pydantic_parent_namespace__ = {**names, **own} if own else names
    return True
