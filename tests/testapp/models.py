"""Host-like models: the shapes real projects give imagex_dedup to watch and to merge."""

import uuid

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Photo(models.Model):
    title = models.CharField(max_length=200, blank=True)
    image = models.ImageField(upload_to="photos/")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title or f"Photo {self.pk}"


class ProxyPhoto(Photo):
    class Meta:
        proxy = True


class Album(models.Model):
    """References photos through a nullable FK and a many-to-many."""

    name = models.CharField(max_length=100)
    cover = models.ForeignKey(
        Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="covers"
    )
    photos = models.ManyToManyField(Photo, blank=True, related_name="albums")


class Profile(models.Model):
    """A one-to-one reference: two merged photos that both have a profile conflict."""

    name = models.CharField(max_length=100)
    avatar = models.OneToOneField(
        Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="profile"
    )


class Comment(models.Model):
    """A generic foreign key reference."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64)
    target = GenericForeignKey("content_type", "object_id")
    text = models.CharField(max_length=200)


class Print(models.Model):
    """A PROTECTed reference: merge must re-point it, never let deletion fail half-way."""

    photo = models.ForeignKey(Photo, on_delete=models.PROTECT, related_name="prints")
    size = models.CharField(max_length=20)


class Tagging(models.Model):
    """A unique (photo, tag) pair: re-pointing both duplicates' rows onto the keeper collides."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="taggings")
    tag = models.CharField(max_length=50)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["photo", "tag"], name="testapp_tagging_unique")
        ]


class BaseImage(models.Model):
    picture = models.ImageField(upload_to="base/")

    class Meta:
        abstract = True


class Artwork(BaseImage):
    """A concrete child of an abstract parent that holds the image field."""

    artist = models.CharField(max_length=100, blank=True)


class UUIDPhoto(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ImageField(upload_to="uuid/")


class Product(models.Model):
    """Two image fields on one model."""

    name = models.CharField(max_length=100, blank=True)
    main_image = models.ImageField(upload_to="products/")
    thumbnail = models.ImageField(upload_to="products/thumbs/", blank=True)


class Document(models.Model):
    """Not an image model: a FileField (system checks must accept FileField, reject others)."""

    file = models.FileField(upload_to="docs/")
    title = models.CharField(max_length=100)
