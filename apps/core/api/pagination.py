"""Pagination: page numbers for content, keyset cursors for fast-growing runtime records."""

from rest_framework.pagination import CursorPagination, PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class NewestFirstCursorPagination(CursorPagination):
    """Keyset pagination on the primary key: stays fast with millions of rows."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
