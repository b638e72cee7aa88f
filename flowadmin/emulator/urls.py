app_name = "emulator"
urlpatterns: list = []
