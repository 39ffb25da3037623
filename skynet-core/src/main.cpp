// ./skynet <config>: load the config, start the node, exit with its code.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "config/config_check.h"
#include "config/config_loader.h"
#include "core/node.h"
#include "modules.h"
#include "net/socket_server.h"

#ifndef SKYNET_NO_JEMALLOC
// jemalloc reads its options from this symbol.  Freed pages go back to the system within a fraction of a
// second (a background thread purges them), so the memory of services that ended does not stay held:
// with the defaults, a node that ran 10,000 services kept all their pages long after they exited.
extern "C" const char* malloc_conf;
const char* malloc_conf = "background_thread:true,dirty_decay_ms:200,muzzy_decay_ms:0";
#endif

namespace {

void install_signals() {
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, nullptr);   // a peer that vanishes mid-write must not kill the node
    sa.sa_handler = skynet::node::on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
}

// The `daemon` key: detach, write the pid file, and send stdio to /dev/null (as skynet).
bool daemonize(const std::string& pidfile) {
    if (daemon(1, 1) != 0) {
        std::perror("daemon");
        return false;
    }
    FILE* f = std::fopen(pidfile.c_str(), "w");
    if (!f) {
        std::fprintf(stderr, "Can't create pidfile [%s]\n", pidfile.c_str());
        return false;
    }
    std::fprintf(f, "%d\n", int(getpid()));
    std::fclose(f);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    }
    return true;
}

}  // namespace

int main(int argc, char* argv[]) {
    if (argc < 2) {
        std::fprintf(stderr, "Need a config file. Usage: skynet configfilename\n");
        return 1;
    }
    std::map<std::string, std::string> config;
    try {
        config = skynet::load_config(argv[1]);
        skynet::check_config(argv[1], config);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    install_signals();
    if (auto it = config.find("daemon"); it != config.end() && !it->second.empty()) {
        if (!daemonize(it->second)) return 1;
    }
    skynet::node n(config, [](std::string_view kind) { return skynet::make_module(kind); });
    n.add_component(skynet::make_socket_server(n));
    return n.run();
}
