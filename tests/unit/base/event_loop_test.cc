#include "base/event_loop.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>

#include <thread>

namespace vmkit {
namespace {

TEST(EventLoop, DispatchesAndStops) {
  auto loop = EventLoop::create().value();
  auto efd = EventFd::create().value();
  int fired = 0;
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN,
                        [&](uint32_t) {
                          efd.consume();
                          if (++fired == 3) loop->stop();
                        })
                  .ok());
  std::thread producer([&] {
    for (int i = 0; i < 3; ++i) {
      (void)efd.signal();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  ASSERT_TRUE(loop->run().ok());
  producer.join();
  EXPECT_EQ(fired, 3);
}

TEST(EventLoop, RemovedHandlerDoesNotRun) {
  auto loop = EventLoop::create().value();
  auto efd = EventFd::create().value();
  bool ran = false;
  ASSERT_TRUE(loop->add(efd.fd(), EPOLLIN, [&](uint32_t) { ran = true; }).ok());
  loop->remove(efd.fd());
  (void)efd.signal();
  ASSERT_TRUE(loop->run_once(10).ok());
  EXPECT_FALSE(ran);
}

TEST(EventLoop, AddBadFdFails) {
  auto loop = EventLoop::create().value();
  EXPECT_FALSE(loop->add(-1, EPOLLIN, [](uint32_t) {}).ok());
}

}  // namespace
}  // namespace vmkit
