"""Host models of the demo.

``Photo.image`` is watched through the ``IMAGEX_DEDUP["MODELS"]`` setting and ``Author.avatar``
through ``imagex_dedup.register()`` (see ``apps.py``). Albums and posts point at photos and
posts at authors, so merging a duplicate group shows those references moving to the keeper.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Photo(models.Model):
    title = models.CharField(max_length=200)
    image = models.ImageField(upload_to="photos/")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class Author(models.Model):
    name = models.CharField(max_length=200)
    avatar = models.ImageField(upload_to="avatars/", blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Album(models.Model):
    name = models.CharField(max_length=200)
    cover = models.ForeignKey(
        Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="covers"
    )
    photos = models.ManyToManyField(Photo, blank=True, related_name="albums")

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    hero = models.ForeignKey(
        Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    author = models.ForeignKey(
        Author, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title
