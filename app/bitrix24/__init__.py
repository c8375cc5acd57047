"""The Bitrix24 REST client: no Flask here; credentials, limits and retries are passed in."""
