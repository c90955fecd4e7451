/**
 * Vendor elements, as data, where the type cannot be guessed from the length (strings, floats, addresses,
 * vendor-formatted octets) or where a name helps documentation. Enterprise elements not listed here still
 * decode: fixed lengths up to 8 as unsigned integers, others as text when printable, hex otherwise.
 *
 * Lines: `<pen>/<id> <name> <type>` for IPFIX enterprise elements; `v9/<id> <name> <type>` for NetFlow v9
 * field types above 32767, which v9 leaves to vendors without saying which vendor.
 *
 * Sources: Cisco ASA NSEL guide (v9 33000-40005), Palo Alto PAN-OS NetFlow templates (56701-56702),
 * nProbe's element list (57xxx), Citrix NetScaler AppFlow (PEN 5951), Ixia IxFlow (PEN 3054), Barracuda
 * (PEN 10704, also seen as 12326), CERT YAF (PEN 6871; bit 0x4000 marks the reverse direction), VMware
 * (PEN 6876). RFC 5103 reverse elements (PEN 29305) take their type from the IANA element of the same id.
 */
export const VENDOR_ELEMENTS = `
v9/33000 ciscoAsaIngressAclId acl
v9/33001 ciscoAsaEgressAclId acl
v9/33002 ciscoAsaFwExtEvent u16
v9/40000 ciscoAsaUsername str
v9/40001 ciscoAsaXlateSrcAddrIpv4 ip4
v9/40002 ciscoAsaXlateDstAddrIpv4 ip4
v9/40003 ciscoAsaXlateSrcPort u16
v9/40004 ciscoAsaXlateDstPort u16
v9/40005 ciscoAsaFwEvent u8
v9/56701 panAppId str
v9/56702 panUserId str
v9/57590 nprobeL7Proto u16
v9/57591 nprobeL7ProtoName str
5951/128 netscalerRoundTripTime u32
5951/129 netscalerTransactionId u32
5951/130 netscalerHttpReqUrl str
5951/131 netscalerHttpReqCookie str
5951/132 netscalerFlowFlags u64
5951/133 netscalerConnectionId u32
5951/134 netscalerSyslogPriority u8
5951/135 netscalerSyslogMessage str
5951/136 netscalerSyslogTimestamp tms
5951/140 netscalerHttpReqReferer str
5951/141 netscalerHttpReqMethod str
5951/142 netscalerHttpReqHost str
5951/143 netscalerHttpReqUserAgent str
5951/144 netscalerHttpRspStatus u16
5951/145 netscalerHttpRspLen u64
5951/151 netscalerAppNameAppId u32
5951/152 netscalerAppName str
5951/158 netscalerHttpResForwFB u64
5951/170 netscalerHttpResForwLB u64
5951/171 netscalerAppUnitNameAppId u32
5951/183 netscalerHttpContentType str
5951/185 netscalerHttpReqAuthorization str
5951/186 netscalerHttpReqVia str
5951/187 netscalerHttpResLocation str
5951/188 netscalerHttpResSetCookie str
5951/189 netscalerHttpResSetCookie2 str
5951/190 netscalerHttpReqXForwardedFor str
5951/192 netscalerConnectionChainID oct
5951/193 netscalerConnectionChainHopCount u8
5951/205 netscalerAaaUsername str
5951/267 netscalerHttpDomainName str
3054/110 ixiaL7AppId u32
3054/111 ixiaL7AppName str
3054/120 ixiaSrcCountryCode str
3054/121 ixiaSrcCountryName str
3054/122 ixiaSrcRegionCode str
3054/123 ixiaSrcRegionName str
3054/125 ixiaSrcCityName str
3054/126 ixiaSrcLatitude f32
3054/127 ixiaSrcLongitude f32
3054/140 ixiaDstCountryCode str
3054/141 ixiaDstCountryName str
3054/142 ixiaDstRegionCode str
3054/143 ixiaDstRegionName str
3054/145 ixiaDstCityName str
3054/146 ixiaDstLatitude f32
3054/147 ixiaDstLongitude f32
3054/160 ixiaDeviceId u8
3054/161 ixiaDeviceName str
3054/162 ixiaBrowserId u8
3054/163 ixiaBrowserName str
3054/176 ixiaRevOctetDeltaCount u64
3054/177 ixiaRevPacketDeltaCount u64
3054/182 ixiaHttpUserAgent str
3054/183 ixiaHttpHostName str
3054/184 ixiaHttpUri str
3054/186 ixiaSrcAsName str
3054/187 ixiaDstAsName str
3054/188 ixiaLatency u32
3054/192 ixiaThreatType str
3054/193 ixiaThreatIPv4 ip4
10704/1 barracudaTimestamp u32
10704/2 barracudaLogOp u8
10704/3 barracudaTrafficType u8
10704/4 barracudaFwRule str
10704/5 barracudaServiceName str
10704/6 barracudaReason u16
10704/7 barracudaReasonText str
10704/8 barracudaBindIPv4Address ip4
10704/9 barracudaBindTransportPort u16
10704/10 barracudaConnIPv4Address ip4
10704/11 barracudaConnTransportPort u16
10704/12 barracudaAuditCounter u32
12326/1 barracudaTimestamp u32
12326/2 barracudaLogOp u8
12326/3 barracudaTrafficType u8
12326/4 barracudaFwRule str
12326/5 barracudaServiceName str
12326/6 barracudaReason u16
12326/7 barracudaReasonText str
12326/8 barracudaBindIPv4Address ip4
12326/9 barracudaBindTransportPort u16
12326/10 barracudaConnIPv4Address ip4
12326/11 barracudaConnTransportPort u16
12326/12 barracudaAuditCounter u32
6871/14 yafInitialTCPFlags u8
6871/15 yafUnionTCPFlags u8
6871/21 yafReverseFlowDeltaMilliseconds u32
6871/33 yafSilkAppLabel u16
6871/40 yafFlowAttributes u16
6871/16398 yafReverseInitialTCPFlags u8
6871/16399 yafReverseUnionTCPFlags u8
6871/16424 yafReverseFlowAttributes u16
`;
