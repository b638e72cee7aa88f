from django.urls import path

from flowadmin.policy import views

app_name = "policy"
urlpatterns = [
    path("freezes/", views.freeze_list, name="freezes"),
    path("freezes/<int:pk>/end/", views.freeze_end, name="freeze_end"),
]
