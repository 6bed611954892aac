"""`{{ code|ship_method }}`, `{{ code|route }}`: a ship method or route to market in plain words where
DATA_FORMAT.md names it ("Will call (pickup)", "EDI"; channels.vocabulary), the code otherwise."""

from django import template

from channels.vocabulary import route_label, ship_method_label

register = template.Library()
register.filter("ship_method", ship_method_label)
register.filter("route", route_label)
