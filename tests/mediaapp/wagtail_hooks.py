from wagtail.snippets.models import register_snippet

from tests.mediaapp.models import Banner

register_snippet(Banner)
