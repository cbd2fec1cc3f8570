/**
 * UDP as IPVS sees it: one state (NORMAL) and one timeout (ip_vs_proto_udp.c udp_timeouts[],
 * 5 min; `lvs_timeouts udp` changes it).
 */

/** IP_VS_UDP_S_NORMAL. UDP connections share the TCP state field; this value is printed as UDP. */
export const UDP_STATE_NORMAL = 0;
export const UDP_DEFAULT_TIMEOUT_S = 5 * 60;
export const UDP_STATE_NAMES = ['UDP'] as const;
