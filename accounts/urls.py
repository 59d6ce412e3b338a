from accounts import api
from securemyspot.api import route

urlpatterns = [
    route("sign-up", api.sign_up, name="sign-up"),
    route("sign-in", api.sign_in, name="sign-in"),
    route("sign-out", api.sign_out, name="sign-out"),
    route("change-pw", api.change_password, name="change-password"),
]
