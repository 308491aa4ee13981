from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required(login_url="admin:login")
def live(request):
    """A plain page showing the stream of events the signed-in user may see."""
    return render(request, "notifications/live.html")
