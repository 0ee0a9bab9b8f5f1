"""The demo's host app: photos, albums and posts that reference them, authors with avatars."""
