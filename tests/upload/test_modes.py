"""``UPLOAD_CHECK`` and its per-model override: in code, in the ``MODELS`` setting, and the
system checks that catch a wrong value."""

from __future__ import annotations

import pytest
from django.core import checks

from imagex_dedup.checks import check_registered_models, check_setting_values
from imagex_dedup.hook import registry
from imagex_dedup.upload import upload_check_mode
from tests.testapp.models import Photo, Product


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return sorted(message.id for message in messages)


def test_register_with_an_override_and_a_bad_one():
    registry.register(Product, field=["main_image"], upload_check="off")
    assert registry.get_registration(Product).upload_check == "off"
    assert upload_check_mode(Product) == "off"
    registry.unregister(Product)
    with pytest.raises(registry.RegistrationError, match="upload_check must be one of"):
        registry.register(Product, field="main_image", upload_check="shout")
    assert not registry.is_registered(Product)


def test_the_models_setting_takes_a_dict_entry(settings):
    settings.IMAGEX_DEDUP = {
        **settings.IMAGEX_DEDUP,
        "UPLOAD_CHECK": "off",
        "MODELS": {
            "testapp.Photo": {"field": "image", "upload_check": "block"},
            "testapp.Product": {"field": ["main_image", "thumbnail"]},
        },
    }
    registry.clear()
    registry.register_from_settings()
    photo, product = registry.get_registration(Photo), registry.get_registration(Product)
    assert (photo.fields, photo.upload_check, photo.from_settings) == (("image",), "block", True)
    assert (product.fields, product.upload_check) == (("main_image", "thumbnail"), None)
    assert (upload_check_mode(Photo), upload_check_mode(Product)) == ("block", "off")
    assert ids(check_registered_models()) == []


def test_system_checks_report_bad_modes(settings):
    settings.IMAGEX_DEDUP = {
        **settings.IMAGEX_DEDUP,
        "UPLOAD_CHECK": "loud",
        "MODELS": {"testapp.Photo": {"field": "image", "upload_check": "never"}},
    }
    (model_error,) = check_registered_models()
    assert model_error.id == "imagex_dedup.E019" and "'never' is not a mode" in model_error.msg
    (setting_error,) = check_setting_values()
    assert setting_error.id == "imagex_dedup.E016"
    assert "must be one of warn, block, off" in setting_error.msg
