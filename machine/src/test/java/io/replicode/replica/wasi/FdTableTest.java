package io.replicode.replica.wasi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The descriptor table's lookups (by number, through its index) agree with what was installed and removed. */
class FdTableTest {
    private static Descriptor opened(int port) {
        return new Descriptor.Opened(port);
    }

    @Test
    void lowest_free_number_first_and_found_by_number() {
        FdTable t = new FdTable(100);
        Descriptor a = opened(1);
        Descriptor b = opened(2);
        Descriptor c = opened(3);
        assertEquals(0, t.allocate(a));
        assertEquals(1, t.allocate(b));
        assertEquals(2, t.allocate(c));
        assertSame(b, t.remove(1));
        assertNull(t.find(1));
        assertThrows(WasiException.class, () -> t.get(1));
        Descriptor d = opened(4);
        assertEquals(1, t.allocate(d), "the freed number is taken again");
        assertSame(d, t.get(1));
        assertSame(a, t.get(0));
        assertSame(c, t.get(2));
        assertNull(t.find(-1));
        assertNull(t.find(3));
    }

    @Test
    void numbers_past_the_index_and_many_descriptors_are_found() {
        FdTable t = new FdTable(1000);
        Descriptor[] ds = new Descriptor[300];
        for (int i = 0; i < ds.length; i++) {
            ds[i] = opened(i);
            assertEquals(i, t.allocate(ds[i]));
        }
        for (int i = 0; i < ds.length; i++) {
            assertSame(ds[i], t.find(i));
        }
        Descriptor far = opened(7);
        t.put(70_000, far); // past the indexed numbers (a renumbering can ask for any)
        assertSame(far, t.get(70_000));
        assertSame(far, t.remove(70_000));
        assertNull(t.find(70_000));
        t.put(5000, far);
        assertSame(far, t.get(5000));
        t.put(-3, far); // not made today; found as the map alone found it
        assertSame(far, t.get(-3));
    }

    @Test
    void remove_if_and_clear_leave_no_stale_entry() {
        FdTable t = new FdTable(100);
        for (int i = 0; i < 10; i++) {
            t.allocate(opened(i));
        }
        t.removeIf(d -> ((Descriptor.Opened) d).boundPort % 2 == 0);
        for (int i = 0; i < 10; i++) {
            if (i % 2 == 0) {
                assertNull(t.find(i), "fd " + i + " was removed");
            } else {
                assertEquals(i, ((Descriptor.Opened) t.get(i)).boundPort);
            }
        }
        t.clear();
        for (int i = 0; i < 10; i++) {
            assertNull(t.find(i));
        }
        assertEquals(0, t.size());
    }

    @Test
    void a_restored_table_is_found_by_number_and_replaces_the_old_one() throws IOException {
        FdTable t = new FdTable(100);
        t.put(0, new Descriptor.Stdio(0));
        t.put(1, new Descriptor.Stdio(1));
        t.put(7, opened(8080));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        t.writeTo(new DataOutputStream(bytes));

        FdTable restored = new FdTable(100);
        restored.put(3, opened(1));
        restored.put(7, opened(2));
        restored.readFrom(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), null, null);
        assertNull(restored.find(3), "the table it had before is gone");
        assertEquals(8080, ((Descriptor.Opened) restored.get(7)).boundPort);
        assertEquals(1, ((Descriptor.Stdio) restored.get(1)).which);
        assertEquals(3, restored.size());
    }
}
