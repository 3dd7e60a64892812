"""Desktop notifications through the Push API, signed with the site's VAPID keys.

Modules: :mod:`~notify.push.keys` (VAPID keys), :mod:`~notify.push.endpoints` (which push services may
be contacted), :mod:`~notify.push.subscriptions` (the subscription life cycle), :mod:`~notify.push.payload`
(what a push carries), :mod:`~notify.push.sender` (sending many pushes at once),
:mod:`~notify.push.jobs` (the outbox job), :mod:`~notify.push.worker` (the background thread),
:mod:`~notify.push.views` and :mod:`~notify.push.urls` (the browser's side).
"""
