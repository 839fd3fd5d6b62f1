#include "agent/events/event_bus.h"

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using nlohmann::json;

Event make(std::string kind, std::map<std::string, std::string> labels = {}) {
  Event e;
  e.kind = std::move(kind);
  e.labels = std::move(labels);
  return e;
}

EventFilterSet filters(std::vector<std::string> exprs) { return EventFilterSet::parse(exprs); }

std::vector<std::string> kinds(const std::deque<EventBus::QueuedPtr>& events) {
  std::vector<std::string> out;
  for (const auto& q : events) out.push_back(q->kind);
  return out;
}

TEST(EventBus, AssignsIncreasingIdsTimestampAndNodeLabel) {
  EventBus bus({.node = "n1"});
  std::vector<Event> seen;
  bus.listen([&](const Event& e) { seen.push_back(e); });
  EXPECT_EQ(bus.publish(make("NodeAlive", {{"node", "n2"}})), 1u);
  EXPECT_EQ(bus.publish(make("NodeStale")), 2u);
  Event stamped = make("NodeStale");
  stamped.at = "2026-11-22T14:26:00.123Z";
  EXPECT_EQ(bus.publish(stamped), 3u);
  EXPECT_EQ(bus.last_id(), 3u);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].id, 1u);
  EXPECT_EQ(seen[1].id, 2u);
  EXPECT_EQ(seen[0].labels.at("node"), "n2");  // publisher's subject kept
  EXPECT_EQ(seen[1].labels.at("node"), "n1");  // defaulted to this node
  EXPECT_EQ(seen[0].at.size(), std::string("2026-11-22T14:26:00.123Z").size());
  EXPECT_EQ(seen[2].at, "2026-11-22T14:26:00.123Z");  // kept when set
}

TEST(EventBus, ListenerReentrancyIsFifoNotRecursive) {
  EventBus bus({.node = "n1"});
  std::vector<std::string> order;
  bus.listen([&](const Event& e) {
    order.push_back("a:" + e.kind);
    if (e.kind == "NodeStale") {
      EXPECT_EQ(bus.publish(make("ForgetPeer")), 2u);
      EXPECT_EQ(bus.publish(make("NodeSplitAction")), 3u);
    }
  });
  bus.listen([&](const Event& e) { order.push_back("b:" + e.kind); });
  EXPECT_EQ(bus.publish(make("NodeStale")), 1u);
  EXPECT_EQ(order,
            (std::vector<std::string>{"a:NodeStale", "b:NodeStale", "a:ForgetPeer", "b:ForgetPeer",
                                      "a:NodeSplitAction", "b:NodeSplitAction"}));
}

TEST(EventBus, ListenerMayUnlistenItselfAndThrowingListenerDoesNotStopDelivery) {
  EventBus bus({.node = "n1"});
  int once_calls = 0, after_calls = 0;
  EventBus::ListenerId once = 0;
  bus.listen([](const Event&) { throw std::runtime_error("boom"); });
  once = bus.listen([&](const Event&) {
    ++once_calls;
    bus.unlisten(once);
  });
  bus.listen([&](const Event&) { ++after_calls; });
  bus.publish(make("A"));
  bus.publish(make("B"));
  EXPECT_EQ(once_calls, 1);
  EXPECT_EQ(after_calls, 2);
  EXPECT_EQ(bus.listeners(), 2u);
}

TEST(EventBus, FiltersRouteEventsToSubscribers) {
  EventBus bus({.node = "n1"});
  const auto stale = bus.subscribe("stale", filters({"NodeStale,node=n2"}), nullptr, nullptr);
  const auto all = bus.subscribe("all", EventFilterSet{}, nullptr, nullptr);
  bus.publish(make("NodeStale", {{"node", "n2"}}));
  bus.publish(make("NodeStale", {{"node", "n3"}}));
  bus.publish(make("NodeAlive", {{"node", "n2"}}));
  const auto got = bus.drain(stale);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(json::parse(got[0]->json)["labels"]["node"], "n2");
  EXPECT_EQ(got[0]->kind, "NodeStale");
  EXPECT_EQ(kinds(bus.drain(all)),
            (std::vector<std::string>{"NodeStale", "NodeStale", "NodeAlive"}));
  EXPECT_TRUE(bus.drain(stale).empty());
}

TEST(EventBus, NotifyIsCalledOnEmptyToNonEmptyTransitions) {
  EventBus bus({.node = "n1"});
  int notified = 0;
  const auto id = bus.subscribe(
      "c", filters({"WatchDog"}), [&] { ++notified; }, nullptr);
  EXPECT_EQ(notified, 0);  // its own ClientSubscribed is not queued to it
  bus.publish(make("WatchDog"));
  bus.publish(make("WatchDog"));
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(bus.drain(id).size(), 2u);
  bus.publish(make("WatchDog"));
  EXPECT_EQ(notified, 2);
}

TEST(EventBus, SubscribeAndUnsubscribePublishClientEvents) {
  EventBus bus({.node = "n1"});
  std::vector<Event> seen;
  bus.listen([&](const Event& e) { seen.push_back(e); });
  const auto watcher =
      bus.subscribe("watcher", filters({"ClientSubscribed,ClientUnsubscribed"}), nullptr, nullptr);
  const auto id =
      bus.subscribe("cli:42", filters({"NodeStale", "NodeAlive,node=n2"}), nullptr, nullptr);
  EXPECT_EQ(bus.subscribers(), 2u);
  bus.unsubscribe(id);
  bus.unsubscribe(id);  // unknown now: ignored
  EXPECT_EQ(bus.subscribers(), 1u);

  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].kind, "ClientSubscribed");
  EXPECT_EQ(seen[1].labels.at("subscriber"), "cli:42");
  EXPECT_EQ(seen[1].labels.at("node"), "n1");
  EXPECT_EQ(seen[1].data, (json{{"name", "cli:42"},
                                {"filters", json::array({"NodeStale", "NodeAlive,node=n2"})}}));
  EXPECT_EQ(seen[2].kind, "ClientUnsubscribed");
  EXPECT_EQ(seen[2].labels.at("subscriber"), "cli:42");
  EXPECT_EQ(seen[2].data, (json{{"name", "cli:42"}}));
  EXPECT_EQ(kinds(bus.drain(watcher)),
            (std::vector<std::string>{"ClientSubscribed", "ClientUnsubscribed"}));
}

TEST(EventBus, ThresholdEventIsPublishedOnceAndNotToTheSlowSubscriber) {
  EventBus bus({.node = "n1", .queue_max = 10, .queue_threshold = 3});
  std::vector<Event> thresholds;
  bus.listen([&](const Event& e) {
    if (e.kind == "SubscriptionQueueThreshold") thresholds.push_back(e);
  });
  const auto slow = bus.subscribe("slow", filters({"Log"}), nullptr, nullptr);
  const auto other =
      bus.subscribe("other", filters({"SubscriptionQueueThreshold"}), nullptr, nullptr);
  for (int i = 0; i < 6; ++i) bus.publish(make("Log"));

  ASSERT_EQ(thresholds.size(), 1u);
  EXPECT_EQ(thresholds[0].labels.at("subscriber"), "slow");
  EXPECT_EQ(thresholds[0].data, (json{{"name", "slow"}, {"queued", 3}, {"max", 10}}));
  EXPECT_EQ(bus.drain(other).size(), 1u);
  EXPECT_EQ(kinds(bus.drain(slow)), std::vector<std::string>(6, "Log"));

  // Draining re-arms it for the next backlog.
  for (int i = 0; i < 3; ++i) bus.publish(make("Log"));
  EXPECT_EQ(thresholds.size(), 2u);
}

TEST(EventBus, ThresholdEventIsNotQueuedToTheSameSubscriberEvenIfItMatches) {
  EventBus bus({.node = "n1", .queue_max = 10, .queue_threshold = 2});
  const auto slow = bus.subscribe("slow", EventFilterSet{}, nullptr, nullptr);
  bus.publish(make("Log"));
  bus.publish(make("Log"));
  bus.publish(make("Log"));
  EXPECT_EQ(kinds(bus.drain(slow)), std::vector<std::string>(3, "Log"));
}

TEST(EventBus, OverflowDropsSubscriberCallsOnDroppedAndPublishesSubscriptionError) {
  EventBus bus({.node = "n1", .queue_max = 4, .queue_threshold = 3});
  std::vector<Event> errors;
  bus.listen([&](const Event& e) {
    if (e.kind == "SubscriptionError") errors.push_back(e);
  });
  int dropped = 0;
  const auto slow = bus.subscribe("slow", filters({"Log"}), nullptr, [&] { ++dropped; });
  const auto other = bus.subscribe("other", filters({"SubscriptionError"}), nullptr, nullptr);
  for (int i = 0; i < 4; ++i) bus.publish(make("Log"));
  EXPECT_EQ(dropped, 0);
  EXPECT_EQ(bus.subscribers(), 2u);

  bus.publish(make("Log"));  // the fifth would exceed queue_max
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(bus.subscribers(), 1u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].labels.at("subscriber"), "slow");
  EXPECT_EQ(errors[0].data["error"], "queue full");
  EXPECT_EQ(errors[0].data["queued"], 4);
  EXPECT_EQ(kinds(bus.drain(other)), (std::vector<std::string>{"SubscriptionError"}));
  EXPECT_TRUE(bus.drain(slow).empty());

  for (int i = 0; i < 10; ++i) bus.publish(make("Log"));  // nothing left to overflow
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(errors.size(), 1u);
}

TEST(EventBus, NotifyMayUnsubscribeFromInsideTheCallback) {
  EventBus bus({.node = "n1"});
  EventBus::SubscriberId id = 0;
  int calls = 0;
  id = bus.subscribe(
      "c", filters({"WatchDog"}),
      [&] {
        ++calls;
        bus.unsubscribe(id);
      },
      nullptr);
  bus.publish(make("WatchDog"));
  bus.publish(make("WatchDog"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(bus.subscribers(), 0u);
}

TEST(EventBus, RejectsInconsistentOptions) {
  EXPECT_THROW(EventBus({.node = "n1", .queue_max = 0, .queue_threshold = 0}),
               std::invalid_argument);
  EXPECT_THROW(EventBus({.node = "n1", .queue_max = 2, .queue_threshold = 3}),
               std::invalid_argument);
}

TEST(EventBus, QueuedEventsAreSharedBetweenSubscribers) {
  EventBus bus({.node = "n1"});
  const auto a = bus.subscribe("a", EventFilterSet{}, nullptr, nullptr);
  const auto b = bus.subscribe("b", EventFilterSet{}, nullptr, nullptr);
  bus.publish(make("NodeStale"));
  const auto qa = bus.drain(a);
  const auto qb = bus.drain(b);
  ASSERT_FALSE(qa.empty());
  ASSERT_FALSE(qb.empty());
  EXPECT_EQ(qa.back()->kind, "NodeStale");
  EXPECT_EQ(qa.back().get(), qb.back().get());  // one copy, two queues
}

TEST(EventBus, DropsASubscriberPastItsByteLimit) {
  EventBus bus({.node = "n1", .queue_max = 100, .queue_threshold = 0, .queue_max_bytes = 4096});
  int dropped = 0;
  const auto slow = bus.subscribe("slow", EventFilterSet{}, nullptr, [&] { ++dropped; });
  const auto other = bus.subscribe("other", filters({"SubscriptionError"}), nullptr, nullptr);
  Event big = make("NodeDataUpdated");
  big.data = {{"value", std::string(1500, 'x')}};
  for (int i = 0; i < 3 && dropped == 0; ++i) bus.publish(big);
  EXPECT_EQ(dropped, 1);  // the third would pass 4096 bytes
  const auto errors = bus.drain(other);
  ASSERT_EQ(errors.size(), 1u);
  const json error = json::parse(errors[0]->json);
  EXPECT_EQ(error["data"]["error"], "queue full");
  EXPECT_GT(error["data"]["bytes"].get<std::size_t>(), 3000u);
  EXPECT_TRUE(bus.drain(slow).empty());
}

TEST(EventBus, AListenerIsCalledOnlyWithTheKindsItTakes) {
  EventBus bus({.node = "n1"});
  std::vector<std::string> stale_only, all;
  bus.listen([&](const Event& e) { stale_only.push_back(e.kind); },
             [](std::string_view kind) { return kind == "NodeStale"; });
  bus.listen([&](const Event& e) { all.push_back(e.kind); });
  bus.publish(make("NodeAlive"));
  bus.publish(make("NodeStale"));
  EXPECT_EQ(stale_only, (std::vector<std::string>{"NodeStale"}));
  EXPECT_EQ(all, (std::vector<std::string>{"NodeAlive", "NodeStale"}));
}

TEST(EventBus, AKindIsWantedByAListenerThatTakesItOrASubscriberThatMayMatchIt) {
  EventBus bus({.node = "n1"});
  EXPECT_FALSE(bus.wanted("NodeDataUpdated"));  // no one at all
  const auto l =
      bus.listen([](const Event&) {}, [](std::string_view k) { return k == "NodeStale"; });
  EXPECT_TRUE(bus.wanted("NodeStale"));
  EXPECT_FALSE(bus.wanted("NodeDataUpdated"));
  bus.unlisten(l);
  // A subscriber's filters decide by their kinds; labels and data
  // assertions are checked on the event itself.
  const auto other = bus.subscribe("other", filters({"NodeAlive,node=n2"}), nullptr, nullptr);
  EXPECT_TRUE(bus.wanted("NodeAlive"));
  EXPECT_FALSE(bus.wanted("NodeDataUpdated"));
  const auto data = bus.subscribe("data", filters({".gen>1"}), nullptr, nullptr);  // any kind
  EXPECT_TRUE(bus.wanted("NodeDataUpdated"));
  bus.unsubscribe(data);
  bus.unsubscribe(other);
  const auto all = bus.listen([](const Event&) {});  // no interest given: every kind
  EXPECT_TRUE(bus.wanted("NodeDataUpdated"));
  bus.unlisten(all);
}

TEST(EventBus, AnEventNoOneWantsIsCountedButTakesNoIdAndReachesNoOne) {
  EventBus bus({.node = "n1"});
  std::map<std::string, int> counted;
  bus.count([&](std::string_view kind) { ++counted[std::string(kind)]; });
  std::vector<std::string> seen;
  bus.listen([&](const Event& e) { seen.push_back(e.kind); },
             [](std::string_view k) { return k == "NodeStale"; });
  const auto sub = bus.subscribe("alive", filters({"NodeAlive"}), nullptr, nullptr);

  EXPECT_TRUE(bus.skip_unwanted("NodeDataUpdated"));  // not built by the caller
  EXPECT_FALSE(bus.skip_unwanted("NodeStale"));       // the caller publishes these two
  EXPECT_FALSE(bus.skip_unwanted("NodeAlive"));
  EXPECT_EQ(bus.last_id(), 1u);  // ClientSubscribed only: a skipped event takes no id
  bus.publish(make("NodeStale"));
  bus.publish(make("NodeAlive"));

  // The counter saw every event, built or skipped, once each.
  EXPECT_EQ(
      counted,
      (std::map<std::string, int>{
          {"ClientSubscribed", 1}, {"NodeAlive", 1}, {"NodeDataUpdated", 1}, {"NodeStale", 1}}));
  EXPECT_EQ(seen, (std::vector<std::string>{"NodeStale"}));
  EXPECT_EQ(kinds(bus.drain(sub)), (std::vector<std::string>{"NodeAlive"}));
}

}  // namespace
}  // namespace vigil::agent
