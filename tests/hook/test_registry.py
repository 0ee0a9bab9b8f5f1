"""Registration: the setting, ``register()`` as a call and as a decorator, and their errors."""

from __future__ import annotations

import pytest
from django.db import models
from django.db.models.signals import post_delete, post_init, post_save
from django.test import override_settings

import imagex_dedup
from imagex_dedup.hook import registry
from imagex_dedup.hook.registry import AlreadyRegistered, NotRegistered, RegistrationError
from tests.testapp.models import Artwork, BaseImage, Document, Photo, Product, ProxyPhoto


def receivers_of(model: type[models.Model]) -> dict[str, bool]:
    return {
        name: signal.has_listeners(model)
        for name, signal in (("init", post_init), ("save", post_save), ("delete", post_delete))
    }


def test_settings_registration_is_loaded_at_ready() -> None:
    assert registry.is_registered(Photo)
    assert registry.get_registration(Photo).fields == ("image",)
    assert registry.get_registration(Photo).from_settings
    assert receivers_of(Photo) == {"init": True, "save": True, "delete": True}


def test_package_level_helpers_are_the_registry_functions() -> None:
    assert imagex_dedup.register is registry.register
    assert imagex_dedup.get_registered_models() == [Photo]


def test_register_call_connects_and_unregister_disconnects_exactly() -> None:
    assert not registry.is_registered(Artwork)
    assert receivers_of(Artwork) == {"init": False, "save": False, "delete": False}
    returned = imagex_dedup.register(Artwork, field="picture")
    assert returned is Artwork
    assert registry.get_registration(Artwork).fields == ("picture",)
    assert receivers_of(Artwork) == {"init": True, "save": True, "delete": True}
    imagex_dedup.unregister(Artwork)
    assert not registry.is_registered(Artwork)
    assert receivers_of(Artwork) == {"init": False, "save": False, "delete": False}
    assert receivers_of(Photo) == {"init": True, "save": True, "delete": True}


def test_register_as_decorator_returns_the_class() -> None:
    decorated = imagex_dedup.register(field=["main_image", "thumbnail"])(Product)
    assert decorated is Product
    assert registry.get_registration(Product).fields == ("main_image", "thumbnail")
    assert set(imagex_dedup.get_registered_models()) == {Photo, Product}


def test_registration_options_are_immutable() -> None:
    registration = registry.get_registration(Photo)
    with pytest.raises(AttributeError):
        registration.fields = ("other",)  # type: ignore[misc]


def test_double_registration_raises_already_registered() -> None:
    with pytest.raises(AlreadyRegistered):
        imagex_dedup.register(Photo, field="image")
    with pytest.raises(AlreadyRegistered):
        imagex_dedup.register(ProxyPhoto, field="image")


def test_proxy_resolves_to_concrete_model_and_gets_receivers() -> None:
    registry.clear()
    imagex_dedup.register(ProxyPhoto, field="image")
    assert registry.is_registered(Photo)
    assert registry.get_registration(ProxyPhoto).model is Photo
    assert imagex_dedup.get_registered_models() == [Photo]
    assert receivers_of(ProxyPhoto)["save"] and receivers_of(Photo)["save"]


@pytest.mark.parametrize(
    ("model", "field", "message"),
    [
        (BaseImage, "picture", "abstract"),
        (Photo, "nope", "has no field 'nope'"),
        (Photo, "title", "not a FileField"),
        (Photo, [], "field must be"),
    ],
)
def test_register_refuses_what_cannot_be_watched(model, field, message) -> None:
    registry.clear()
    with pytest.raises(RegistrationError, match=message):
        imagex_dedup.register(model, field=field)
    assert not registry.is_registered(Photo)


def test_file_field_is_accepted_not_only_image_field() -> None:
    imagex_dedup.register(Document, field="file")
    assert registry.get_registration(Document).fields == ("file",)


def test_unregister_unknown_model_raises() -> None:
    with pytest.raises(NotRegistered):
        imagex_dedup.unregister(Artwork)


@override_settings(
    IMAGEX_DEDUP={
        "MODELS": {
            "testapp.Photo": "image",
            "testapp.Product": ["main_image", "thumbnail"],
            "testapp.Artwork": ["picture"],
            "testapp.Nope": "image",
            "testapp.Document": "title",
        }
    }
)
def test_settings_accept_lists_and_skip_invalid_entries() -> None:
    registry.clear()
    registry.register_from_settings()
    assert registry.get_registration(Product).fields == ("main_image", "thumbnail")
    assert registry.get_registration(Artwork).fields == ("picture",)
    assert set(imagex_dedup.get_registered_models()) == {Photo, Product, Artwork}


def test_code_registration_wins_over_the_same_model_in_settings() -> None:
    registry.clear()
    imagex_dedup.register(Photo, field="image")
    registry.register_from_settings()
    assert not registry.get_registration(Photo).from_settings
