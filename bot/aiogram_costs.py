"""Three costs of aiogram 3 (with pydantic 2) that this bot does not pay.

Each was found profiling `python -m bench` (see BENCHMARKS.md); none changes what
aiogram does, only when and how often pydantic builds its validators and how it
starts each object.

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

3. **Each object's bot bound once per class of its ancestry.** Every aiogram
   object keeps its bot in a private attribute, set by aiogram's
   `model_post_init`. pydantic wraps a class's `model_post_init` to first fill
   in the private attributes, and does so again in each subclass: a Message
   (TelegramObject, MutableTelegramObject, Message) goes through three wrappers,
   each walking the private attributes anew, for it and for each object inside
   it. Parsing a sent message with a seven-button keyboard took 86–104 µs, 51–57
   after; building a button 6–10 µs, 3 after (timeit). `bind_bot_once()` gives
   each of aiogram's classes `bind_bot`, which does what the wrappers ended in
   (`_bot` from the context, else None) in one step.

This module imports nothing of aiogram at the top, so the `bot` package can call
`defer_type_builds()` before anything else imports it, then `bind_bot_once()`.
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


def bind_bot(self: BaseModel, context: Any, /) -> None:
    """aiogram's `BotContextController.model_post_init` with pydantic's wrappers
    folded in: `_bot` is the object's only private attribute and has no default."""
    bot = context.get("bot") if context else None
    private = getattr(self, "__pydantic_private__", None)
    if private is None:
        object.__setattr__(self, "__pydantic_private__", {"_bot": bot})
    else:
        private["_bot"] = bot


def bind_bot_once() -> int:
    """Give every aiogram class whose start-up is exactly pydantic's wrappers around
    aiogram's own `model_post_init` `bind_bot` instead; returns how many. A class
    with another private attribute, or another `model_post_init` anywhere in the
    chain (a newer aiogram), keeps pydantic's."""
    from aiogram.client.context_controller import BotContextController

    aiograms = BotContextController.__dict__["model_post_init"]
    while hasattr(aiograms, "__wrapped__"):  # pydantic's wrapper, in this class too
        aiograms = aiograms.__wrapped__
    if aiograms.__module__ != "aiogram.client.context_controller":
        return 0
    bound = 0
    classes: list[type[BaseModel]] = [BotContextController]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        own = cls.__dict__.get("model_post_init")
        if own is None or own is bind_bot or cls.__private_attributes__.keys() != {"_bot"}:
            continue
        while hasattr(own, "__wrapped__"):
            own = own.__wrapped__
        if own is aiograms:
            cls.model_post_init = bind_bot  # type: ignore[method-assign]
            bound += 1
    return bound
