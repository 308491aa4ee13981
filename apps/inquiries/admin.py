from django.contrib import admin, messages
from django.contrib.admin.helpers import AdminForm
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.text import capfirst

from apps.core import exceptions as domain
from apps.core.admin import ReadOnlyModelAdmin
from apps.executions.admin import pretty_json
from apps.inquiries import services
from apps.inquiries.choices import InquiryStatus
from apps.inquiries.forms import answer_form_class, response_from
from apps.inquiries.models import Inquiry

WAITING = "admin:inquiries_inquiry_waiting"


@admin.register(Inquiry)
class InquiryAdmin(ReadOnlyModelAdmin):
    """Inquiries are records here; people answer pending ones through "Inquiries waiting for
    you", whose form calls `services.respond` like the API does."""

    list_display = [
        "inquiry_id",
        "status",
        "prompt",
        "route",
        "workflow",
        "asked_users",
        "asked_roles",
        "created_at",
        "expires_at",
        "responded_by",
        "responded_at",
    ]
    list_filter = ["status"]
    search_fields = ["route", "=execution__id"]
    list_select_related = ["workflow", "responded_by"]
    fieldsets = [
        (None, {"fields": ["execution", "workflow", "status", "prompt", "route", "shown_schema"]}),
        ("Asked", {"fields": ["asked_users", "asked_roles", "ttl", "created_at", "expires_at"]}),
        ("Answer", {"fields": ["shown_response", "responded_by", "responded_at"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    @admin.display(description="id", ordering="pk")
    def inquiry_id(self, inquiry):
        return inquiry.pk

    @admin.display(description="users")
    def asked_users(self, inquiry):
        return ", ".join(inquiry.users)

    @admin.display(description="roles")
    def asked_roles(self, inquiry):
        return ", ".join(inquiry.roles)

    @admin.display(description="schema")
    def shown_schema(self, inquiry):
        return pretty_json(inquiry.schema)

    @admin.display(description="response")
    def shown_response(self, inquiry):
        return pretty_json(inquiry.response)

    def get_urls(self):
        # Before the default URLs: their catch-all `<object_id>/` would take "waiting/".
        return [
            path(
                "waiting/",
                self.admin_site.admin_view(self.waiting_view),
                name="inquiries_inquiry_waiting",
            ),
            path(
                "<int:inquiry_id>/answer/",
                self.admin_site.admin_view(self.answer_view),
                name="inquiries_inquiry_answer",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        inquiry = self.get_object(request, object_id)
        can_answer = inquiry is not None and is_answerable(inquiry, request.user)
        extra_context = {**(extra_context or {}), "can_answer": can_answer}
        return super().change_view(request, object_id, form_url, extra_context)

    def waiting_view(self, request):
        """Pending inquiries the logged-in user may answer, newest first."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        roles = services.roles_of(request.user)
        # Pending inquiries are a small working set (they expire), so filtering in Python is
        # fine; who may answer lives in JSON lists.
        pending = Inquiry.objects.filter(status=InquiryStatus.PENDING).select_related(
            "workflow", "execution"
        )
        waiting = [i for i in pending if services.may_answer(request.user, i, roles)]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Inquiries waiting for you",
            "inquiries": waiting,
        }
        return TemplateResponse(request, "admin/inquiries/inquiry/waiting.html", context)

    def answer_view(self, request, inquiry_id: int):
        """Answer one inquiry with a form built from its schema, through `services.respond`."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        inquiry = get_object_or_404(Inquiry.objects.select_related("workflow"), pk=inquiry_id)
        try:
            services.check_answerable(inquiry, request.user)
        except (domain.PermissionDenied, domain.Conflict) as refused:
            return back_to_waiting(request, refused)
        form = answer_form_class(inquiry.schema)(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                services.respond(inquiry.pk, response_from(form.cleaned_data), request.user)
            except domain.InvalidInput as invalid:
                show_errors(form, invalid)
            except (domain.PermissionDenied, domain.Conflict, domain.NotFound) as refused:
                return back_to_waiting(request, refused)
            else:
                messages.success(request, f"Answered inquiry {inquiry.pk}")
                return redirect(WAITING)
        return self.answer_page(request, inquiry, form)

    def answer_page(self, request, inquiry: Inquiry, form):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Answer inquiry {inquiry.pk}",
            "inquiry": inquiry,
            "form": form,
            "adminform": AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
        }
        return TemplateResponse(request, "admin/inquiries/inquiry/answer.html", context)


def is_answerable(inquiry: Inquiry, user) -> bool:
    try:
        services.check_answerable(inquiry, user)
    except (domain.PermissionDenied, domain.Conflict):
        return False
    return True


def back_to_waiting(request, refused: domain.AttuneError):
    messages.error(request, capfirst(refused.detail))
    return redirect(WAITING)


def show_errors(form, invalid: domain.InvalidInput) -> None:
    """Put the service's errors on the form: on the field they name, else above the form."""
    for error in invalid.errors or [{"field": "(root)", "message": invalid.detail}]:
        if error["field"] in form.fields:
            form.add_error(error["field"], error["message"])
        else:
            form.add_error(None, f"{error['field']}: {error['message']}")
