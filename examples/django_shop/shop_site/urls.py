"""Two routes: place an order, look one up."""

from django.urls import path
from orders import views

urlpatterns = [
    path("orders", views.place_order),
    path("orders/<str:order_id>", views.order_status),
]
