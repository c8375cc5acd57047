"""The install blueprint, alone in its module so its views import it without importing the package."""

from flask import Blueprint

bp = Blueprint("install", __name__)
