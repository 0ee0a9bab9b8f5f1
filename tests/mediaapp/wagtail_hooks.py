from wagtail.snippets.models import register_snippet

from tests.mediaapp.models import Banner, Credit

register_snippet(Banner)
register_snippet(Credit)  # snippets are in the reference index
