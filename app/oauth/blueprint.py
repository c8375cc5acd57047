"""The oauth blueprint, alone in its module so its views import it without importing the package."""

from flask import Blueprint

bp = Blueprint("oauth", __name__)
