from django.contrib import admin
from django.utils.html import format_html

from .models import Album, Author, Photo, Post


def _thumbnail(file, size: int = 80) -> str:
    if not file:
        return "-"
    return format_html(
        '<img src="{}" style="max-width:{}px;max-height:{}px" alt="">', file.url, size, size
    )


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["title", "preview", "uploaded_at"]
    search_fields = ["title"]

    @admin.display(description="image")
    def preview(self, obj: Photo) -> str:
        return _thumbnail(obj.image)


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "preview"]
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
