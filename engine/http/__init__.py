"""The one HTTP layer: what every HTTP request of the engine goes through.

The ``http`` and ``fluent`` connections build their clients here, and the
sources and targets that borrow them use it for their requests:

* :mod:`engine.http.client`: :class:`~engine.http.client.HttpClient`, one
  connection's requests (timeouts, rate limit, credentials renewed once on a
  401, the retry policy, writes reconciled before a resend);
* :mod:`engine.http.auth`: static credentials and tokens renewed by one
  thread for all (OAuth2 client credentials here; Fluent's grants in
  :mod:`engine.fluent.auth` use the same machinery);
* :mod:`engine.http.status`: what a status means, as the errors of the
  phase (source, target, connection) that made the request;
* :mod:`engine.http.guard`: where a redirect may lead, how large an answer
  and how long a request may be;
* :mod:`engine.http.templates`: paths, parameters, headers and bodies with
  ``{path}`` placeholders filled from records and ``$context``.
"""
