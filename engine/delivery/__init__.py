"""The one delivery layer: how targets send concurrently and checkpoint what they sent.

* :mod:`engine.delivery.pool`: work open per item and the first failure
  (:class:`~engine.delivery.pool.Outstanding`), and the bounded pool of
  sending threads (:class:`~engine.delivery.pool.SendPool`);
* :mod:`engine.delivery.window`: checkpoint windows, the settled prefix of
  an item and what may have been sent past it (records sent out of order,
  or batches sent one at a time);
* :mod:`engine.delivery.target`: the base of targets that send records
  from a pool (``fluent.event``, ``fluent.graphql``, ``http``).

``fluent.batch`` keeps its own sender and poller threads, and uses the
first two for its bookkeeping and checkpoints.
"""
