package io.replicode.replica.machine;

import static io.replicode.replica.machine.Guests.*;
import static org.junit.jupiter.api.Assertions.*;

import io.replicode.nat.Output;
import io.replicode.replica.module.Engine;
import java.util.List;
import org.junit.jupiter.api.Test;

class EchoSmokeTest {
    @Test
    void echo_server_echoes_bytes_on_one_connection() {
        try (GuestMachine m = machine("echo_server", Engine.COMPILER, config("echo", "echo"))) {
            Script s = new Script();
            List<Output> out = m.apply(s.next());
            System.out.println(out + " " + m.status());
            assertEquals(GuestMachine.State.PARKED, m.state(), String.valueOf(m.stopReason()));
            out = m.apply(s.next(open(1, "echo"), data(1, "hello")));
            System.out.println(out);
            assertEquals("hello", sent(out, 1));
        }
    }
}
