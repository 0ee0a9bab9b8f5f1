"""Admins of the host models; the two watched ones use imagex_dedup's DuplicatesAdminMixin
(a "duplicates" column linking to the open groups, and "Check selected for duplicates")."""

from django.contrib import admin
from django.utils.html import format_html

from demo_project.gallery.models import Album, Author, Photo, Post
from imagex_dedup.admin import DuplicatesAdminMixin


def _thumbnail(file, size: int = 80) -> str:
    if not file:
        return "-"
    return format_html(
        '<img src="{}" style="max-width:{}px;max-height:{}px" alt="">', file.url, size, size
    )


@admin.register(Photo)
class PhotoAdmin(DuplicatesAdminMixin, admin.ModelAdmin):
    list_display = ["title", "preview", "duplicate_groups", "uploaded_at"]
    search_fields = ["title"]

    @admin.display(description="image")
    def preview(self, obj: Photo) -> str:
        return _thumbnail(obj.image)


@admin.register(Author)
class AuthorAdmin(DuplicatesAdminMixin, admin.ModelAdmin):
    list_display = ["name", "preview", "duplicate_groups"]
    search_fields = ["name"]

    @admin.display(description="avatar")
    def preview(self, obj: Author) -> str:
        return _thumbnail(obj.avatar, 48)


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    list_display = ["name", "cover"]
    filter_horizontal = ["photos"]
    autocomplete_fields = ["cover"]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["title", "hero", "author"]
    autocomplete_fields = ["hero", "author"]
