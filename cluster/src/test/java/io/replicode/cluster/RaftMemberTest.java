package io.replicode.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RaftMemberTest {
    @Test
    void every_member_computes_the_same_ids_and_addresses_from_the_member_list() {
        assertEquals("127.0.0.1_5701", RaftMember.peerIdOf("127.0.0.1:5701").toString());
        assertEquals("127.0.0.1:6701", RaftMember.raftAddress("127.0.0.1:5701"));
        assertEquals(RaftMember.groupOf("kv"), RaftMember.groupOf("kv"));
        assertNotEquals(RaftMember.groupOf("kv"), RaftMember.groupOf("image"));
        var tooHigh = assertThrows(io.replicode.FixableException.class, () -> RaftMember.raftAddress("127.0.0.1:65000"));
        assertTrue(tooHigh.getMessage().contains("Fix:"), tooHigh.getMessage());
    }

    @Test
    void the_peer_id_is_kept_in_the_data_directory_and_another_address_is_refused(@TempDir Path dir) throws Exception {
        assertEquals("127.0.0.1_5701", RaftMember.stablePeerId(dir, "127.0.0.1:5701").toString());
        assertEquals("127.0.0.1_5701\n", Files.readString(dir.resolve("peer-id")));
        assertEquals("127.0.0.1_5701", RaftMember.stablePeerId(dir, "127.0.0.1:5701").toString());
        var moved = assertThrows(io.replicode.FixableException.class, () -> RaftMember.stablePeerId(dir, "127.0.0.1:5799"));
        assertTrue(moved.getMessage().contains("127.0.0.1:5701") && moved.getMessage().contains("Fix:"), moved.getMessage());
    }
}
