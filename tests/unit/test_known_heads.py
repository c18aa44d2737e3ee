from customerhub_shared.eventstore.heads import KnownHeads


def test_a_head_is_known_only_at_its_own_revision() -> None:
    heads = KnownHeads()
    heads.remember("customer-1", 3, "h3")
    assert heads.hash_at("customer-1", 3) == "h3"
    assert heads.hash_at("customer-1", 2) is None
    assert heads.hash_at("customer-1", 4) is None
    assert heads.hash_at("customer-2", 3) is None


def test_an_older_event_never_replaces_a_newer_head() -> None:
    heads = KnownHeads()
    heads.remember("customer-1", 5, "h5")
    heads.remember("customer-1", 2, "h2")
    assert heads.hash_at("customer-1", 5) == "h5"
    heads.remember("customer-1", 6, "h6")
    assert heads.hash_at("customer-1", 6) == "h6"


def test_an_unhashed_event_forgets_the_stream() -> None:
    heads = KnownHeads()
    heads.remember("customer-1", 0, "h0")
    heads.remember("customer-1", 1, None)
    assert heads.hash_at("customer-1", 0) is None


def test_the_least_recently_used_stream_is_forgotten_first() -> None:
    heads = KnownHeads(capacity=2)
    heads.remember("a", 0, "ha")
    heads.remember("b", 0, "hb")
    assert heads.hash_at("a", 0) == "ha"  # a is now the most recently used
    heads.remember("c", 0, "hc")
    assert heads.hash_at("b", 0) is None
    assert heads.hash_at("a", 0) == "ha"
    assert heads.hash_at("c", 0) == "hc"
