from django.urls import path

from apps.inquiries.api.views import InquiryDetailView, InquiryListView

urlpatterns = [
    path("inquiries", InquiryListView.as_view(), name="inquiry-list"),
    path("inquiries/<int:pk>", InquiryDetailView.as_view(), name="inquiry-detail"),
]
