"""Sign-in for the pages, under the same lockout as the API's token endpoint (`config.throttling`): after
SIGNIN_LOCKOUT_FAILURES wrong passwords for a username, it is refused (429, Retry-After) without its password
being checked until the window ends, whichever door the guesses come through."""

from __future__ import annotations

from django.contrib.auth.views import LoginView

from config import throttling


class SignInView(LoginView):
    redirect_authenticated_user = True

    def _username(self) -> str:
        value = self.request.POST.get("username", "")
        return value[:150] if isinstance(value, str) else ""

    def post(self, request, *args, **kwargs):
        remaining = throttling.lockout_remaining(self._username())
        if remaining:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, f"Too many failed sign-ins for this username; try again in {remaining} s.")
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(remaining)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        throttling.clear_failures(self._username())
        return super().form_valid(form)

    def form_invalid(self, form):
        throttling.record_failure(self._username())
        return super().form_invalid(form)
