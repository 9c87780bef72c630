// The custom resolvers of the SDK guide's SFCC order example (docs/02-CORE-GUIDES/mapping/modules/
// mapping-04-use-cases.md), as the guide writes them, for the SDK's own mapper.
export default {
  'custom.mapOrderType': (value) => {
    const typeMap = { standard: 'STANDARD', express: 'HD', 'store-pickup': 'CC' };
    return typeMap[value.toLowerCase()] || 'STANDARD';
  },
  'custom.calculateItemTotal': (value, sourceData, config, helpers) => {
    const qty = helpers.parseIntSafe(sourceData['@qty'], 0);
    const price = helpers.parseFloatSafe(sourceData['@unitPrice'], 0);
    return qty * price;
  },
};
