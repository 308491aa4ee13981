"""People answer inquiries in the Django admin: the ones waiting for them, with a form built from
the schema, through the same service as the API."""

from django.contrib.auth.models import Permission
from django.test import Client

from apps.executions.models import Execution
from apps.inquiries import services as inquiries
from apps.inquiries.models import Inquiry
from tests.inquiries.conftest import asked, started

WAITING = "/admin/inquiries/inquiry/waiting/"
COUNT_SCHEMA = {
    "type": "object",
    "properties": {"count": {"type": "integer", "minimum": 1}},
    "required": ["count"],
}


def staff_client(user) -> Client:
    """A client logged in as `user`, made an operator who may view inquiries in the admin."""
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_inquiry"))
    client = Client()
    client.force_login(user)
    return client


def answer_url(inquiry: Inquiry) -> str:
    return f"/admin/inquiries/inquiry/{inquiry.pk}/answer/"


def test_waiting_page_lists_inquiries_asking_you_or_anyone_but_not_someone_else(
    workflow_packs, people
):
    _, for_bob = started(people)
    _, for_alice = started(people, approver="alice")
    for_anyone = asked(people, COUNT_SCHEMA)

    page = staff_client(people["bob"]).get(WAITING)

    assert page.status_code == 200
    assert answer_url(for_bob).encode() in page.content
    assert answer_url(for_anyone).encode() in page.content
    assert answer_url(for_alice).encode() not in page.content


def test_the_approval_form_asks_yes_or_no_and_a_reason(workflow_packs, people):
    _, inquiry = started(people)

    page = staff_client(people["bob"]).get(answer_url(inquiry))

    assert page.status_code == 200
    assert b'<select name="approved"' in page.content
    assert b'<option value="yes">yes</option>' in page.content
    assert b'<option value="no">no</option>' in page.content
    assert b'<input type="text" name="reason"' in page.content
    assert page.content.index(b'name="approved"') < page.content.index(b'name="reason"')


def test_answering_yes_ends_the_inquiry_and_its_execution_with_the_response(workflow_packs, people):
    _, inquiry = started(people)
    client = staff_client(people["bob"])

    page = client.post(answer_url(inquiry), {"approved": "yes", "reason": "ship it"}, follow=True)

    assert page.redirect_chain == [(WAITING, 302)]
    assert f"Answered inquiry {inquiry.pk}".encode() in page.content
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.responded_by) == ("responded", people["bob"])
    ask = Execution.objects.get(pk=inquiry.pk)
    assert ask.status == "succeeded"
    assert ask.result["response"] == {"approved": True, "reason": "ship it"}
    again = client.get(answer_url(inquiry), follow=True)
    assert f"Inquiry {inquiry.pk} was already answered".encode() in again.content


def test_an_answer_left_out_is_refused_and_the_inquiry_stays_pending(workflow_packs, people):
    _, inquiry = started(people)

    page = staff_client(people["bob"]).post(answer_url(inquiry), {"reason": "not sure"})

    assert page.status_code == 200
    assert b"This field is required." in page.content
    inquiry.refresh_from_db()
    assert inquiry.status == "pending"


def test_an_answer_the_schema_refuses_is_shown_on_its_field(workflow_packs, people):
    inquiry = asked(people, COUNT_SCHEMA, users=["bob"])

    page = staff_client(people["bob"]).post(answer_url(inquiry), {"count": "0"})

    assert page.status_code == 200
    assert b"0 is less than the minimum of 1" in page.content
    assert page.context["form"].errors["count"] == ["0 is less than the minimum of 1"]
    inquiry.refresh_from_db()
    assert inquiry.status == "pending"


def test_someone_not_asked_is_sent_back_with_a_message(workflow_packs, people):
    _, inquiry = started(people)
    client = staff_client(people["eve"])

    shown = client.get(answer_url(inquiry), follow=True)
    posted = client.post(answer_url(inquiry), {"approved": "yes"}, follow=True)

    message = f"You may not answer inquiry {inquiry.pk}: only users bob may".encode()
    for page in (shown, posted):
        assert page.redirect_chain == [(WAITING, 302)]
        assert message in page.content
        assert b'name="approved"' not in page.content
    inquiry.refresh_from_db()
    assert inquiry.status == "pending"


def test_inquiry_list_and_page_show_the_answer_and_who_gave_it(workflow_packs, people):
    _, inquiry = started(people)
    client = staff_client(people["bob"])
    change_url = f"/admin/inquiries/inquiry/{inquiry.pk}/change/"
    assert answer_url(inquiry).encode() in client.get(change_url).content

    inquiries.respond(inquiry.pk, {"approved": True, "reason": "ok"}, people["bob"])
    listing = client.get("/admin/inquiries/inquiry/", {"q": "approvals"})
    page = client.get(change_url)

    assert listing.status_code == 200
    assert WAITING.encode() in listing.content
    assert b'class="field-responded_by nowrap">bob</td>' in listing.content
    assert page.status_code == 200
    assert b"&quot;approved&quot;: true" in page.content
    assert b"&quot;reason&quot;: &quot;ok&quot;" in page.content
    assert b"bob" in page.content
    assert answer_url(inquiry).encode() not in page.content
