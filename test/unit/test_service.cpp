#include <doctest/doctest.h>

#include "core/service.h"
#include "dummy_node.h"

using namespace skynet;

namespace {

using unit::dummy_node;

// A service the way a worker leaves it when its turn ends on an empty mailbox: the flag cleared.
service_ptr given_up_service() {
    auto s = std::make_shared<service>(dummy_node(), nullptr);
    message m;
    REQUIRE_FALSE(s->mq().pop(m));   // a new mailbox is scheduled and empty: this pop gives it up
    return s;
}

message empty_message() { return message{0, 0, 0, nullptr, 0}; }

}  // namespace

TEST_CASE("service: a worker that gave up a retired service takes it back to tear it down") {
    service_ptr s = given_up_service();
    REQUIRE(s->retire(end_reason::killed));
    CHECK(s->reclaim_if_retired());
    // Taken back: the flag is set again, so a later push does not schedule it anywhere else.
    CHECK(s->mq().push(empty_message()) == mailbox::push_result::queued);
}

TEST_CASE("service: a retired service that a push scheduled again is left to its new holder") {
    // The race: the turn's pop cleared the flag, a push scheduled the service again (another worker may be
    // running it now), and a retire landed before the first worker looked.  Tearing it down there would
    // destroy the module under the other worker.
    service_ptr s = given_up_service();
    REQUIRE(s->mq().push(empty_message()) == mailbox::push_result::schedule);
    REQUIRE(s->retire(end_reason::killed));
    CHECK_FALSE(s->reclaim_if_retired());
}

TEST_CASE("service: a live service given up stays given up") {
    service_ptr s = given_up_service();
    CHECK_FALSE(s->reclaim_if_retired());
    // The flag is still clear: the next push schedules it.
    CHECK(s->mq().push(empty_message()) == mailbox::push_result::schedule);
}
