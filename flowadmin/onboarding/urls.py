from django.urls import path

from flowadmin.onboarding import views

app_name = "onboarding"
urlpatterns = [
    path("onboard/", views.onboard, name="onboard"),
    path("onboard/submit/", views.submit, name="submit"),
]
