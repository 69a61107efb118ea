"""The current place of a staff user: chosen in the place switcher, kept in the session, always one they may work on."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from gongzhi.people import selectors

SESSION_KEY = "gongzhi_place"


def _current_place(request):
    user = request.user
    if not user.is_authenticated:
        return None
    places = selectors.staff_places_switchable(user=user)
    code = request.session.get(SESSION_KEY)
    if code:
        from gongzhi.places.models import Place

        place = next((p for p in places if p.code == code), None)
        if place is None:
            place = Place.objects.filter(code=code).select_related("parent").first()
            if place is not None and not user.has_perm("places.manage_place", place):
                place = None
        if place is not None:
            return place
    return places[0] if places else None


class CurrentPlaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.place = SimpleLazyObject(lambda: _current_place(request))
        return self.get_response(request)
