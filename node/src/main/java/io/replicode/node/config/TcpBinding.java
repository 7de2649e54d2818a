package io.replicode.node.config;

/**
 * One TCP port of the node that leads to one listening socket of an app.
 *
 * @param port     TCP port on the node's host; 0 picks a free port (tests)
 * @param listener the app's listener name, i.e. which preopened socket (fd 3, 4, ...) gets the connections
 */
public record TcpBinding(int port, String listener) {
    public TcpBinding {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside 0..65535");
        }
    }
}
